package cli

import (
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication/products"
)

// productsSender is the constituents channel (issue 13): each published
// advisory's "constituents" delivery tells every organisation whose
// declared products it concerns, through the notifier's signing and
// encryption and the outbox. The publication outbox's worker runs it
// (startPublishing), under its lease.
func (a *app) productsSender(notes *notifications) (*products.Sender, error) {
	cat := i18n.Embedded()
	sender := &products.Sender{Store: a.store.Products, Organisations: a.store, Policies: a.store, State: a.store,
		Catalog: cat, From: a.cfg.Notify.From, PortalURL: a.cfg.Notify.PortalURL, Logger: a.log.With("job", "constituents channel")}
	if notes.sender != nil {
		sender.Kick = notes.sender.Kick
	}
	return sender, nil
}
