package cli

import (
	"context"
	"slices"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/products"
)

// productsEvery is how often the constituents channel looks for
// published advisories to tell the organisations they concern of.
const productsEvery = 30 * time.Second

// withConstituentsChannel adds the constituents channel to the
// channels svc publishes to, so that publishing an advisory queues its
// delivery (products.Channel takes the advisories it may tell of).
func withConstituentsChannel(svc *publication.Service) {
	if svc.Channels == nil {
		svc.Channels = slices.Clone(publication.DefaultChannels)
	}
	svc.Channels = append(svc.Channels, products.Channel)
}

// startProducts runs the constituents channel (issue 13): each
// published advisory's "constituents" delivery tells every organisation
// whose declared products it concerns, through the notifier's signing
// and encryption and the outbox; one process of several does, under its
// lease.
func (a *app) startProducts(group *jobs, notes *notifications) error {
	cat, err := i18n.Load()
	if err != nil {
		return err
	}
	sender := &products.Sender{Store: a.store.Products, Organisations: a.store, Policies: a.store, State: a.store,
		Catalog: cat, From: a.cfg.Notify.From, PortalURL: a.cfg.Notify.PortalURL, Logger: a.log.With("job", "constituents channel")}
	if notes.sender != nil {
		sender.Kick = notes.sender.Kick
	}
	group.run("constituents channel", func(ctx context.Context) error {
		return lease.Hold(ctx, a.store, "products", lease.Options{Logger: a.log}, func(ctx context.Context) error {
			tick := time.NewTicker(productsEvery)
			defer tick.Stop()
			for {
				if _, err := products.DeliverDue(ctx, a.store.Publications, sender, time.Now().UTC()); err != nil {
					sender.Logger.Error("constituents channel", "err", err)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-tick.C:
				}
			}
		})
	})
	return nil
}
