package cli

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
)

// notifications are the notifier and the outbox sender of one vigil serve.
// The notifier exists even when notify.enabled is off, because the
// console previews templates with it; it only runs when enabled. The
// sender exists when a relay is configured.
type notifications struct {
	notifier *notify.Notifier
	sender   *outbox.Sender
}

func (a *app) newNotifications(ctx context.Context, reg prometheus.Registerer) (*notifications, error) {
	n := &notifications{}
	if a.cfg.SMTP.Host != "" {
		s, err := outbox.NewSender(a.cfg.SMTP, a.store, a.log, outbox.WithRegisterer(reg))
		if err != nil {
			return nil, err
		}
		n.sender = s
	}
	id, err := notify.LoadIdentity(ctx, a.store)
	if err != nil {
		return nil, err
	}
	if id == nil && a.cfg.Notify.Enabled {
		a.log.Warn("notifications are enabled but the team has no OpenPGP key yet: nothing is sent until one is generated or imported in the console (Notifications → Identity)")
	}
	n.notifier, err = notify.New(a.cfg.Notify, notify.Deps{Store: a.store, Identity: id, Logger: a.log, Kick: n.kick, Room: makeRoom})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// kick wakes the sender after the notifier queued messages.
func (n *notifications) kick() {
	if n.sender != nil {
		n.sender.Kick()
	}
}
