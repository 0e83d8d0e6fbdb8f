package cli

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/sealed"
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
			return nil, relayError(a.cfg.SMTP.Host, err)
		}
		n.sender = s
	}
	id, err := notify.LoadIdentity(ctx, a.store)
	if err != nil {
		return nil, a.identityError(err)
	}
	if id == nil && a.cfg.Notify.Enabled {
		a.log.Warn("notifications are enabled but the team has no OpenPGP key yet: nothing is sent until one is generated or imported in the console (Notifications → Identity)")
	}
	n.notifier, err = notify.New(a.cfg.Notify, notify.Deps{Store: a.store, Identity: id, Logger: a.log, Kick: n.kick, Room: makeRoom,
		DeferCheckpoints: a.deferCheckpoints})
	if err != nil {
		return nil, failedTo(err, "cli.start.notifier")
	}
	return n, nil
}

// relayError says why the client of the SMTP relay at host cannot be
// made: a key of the smtp section, as the configuration's check says it
// (config.Validate checked it already), or else the reason.
func relayError(host string, err error) error {
	var ce *outbox.ConfigError
	if errors.As(err, &ce) {
		return &config.Error{Key: ce.Key, Message: ce.Message, Err: err}
	}
	return failedTo(err, "cli.start.relay", host)
}

// identityError says why the team's OpenPGP key cannot be loaded: the
// database fails, or the key it keeps cannot be used (altered, or no
// longer a key): why, when pgpmime says it (expired, revoked), else
// the log has the reason.
func (a *app) identityError(err error) error {
	if errors.Is(err, notify.ErrBrokenIdentity) || errors.Is(err, sealed.ErrWrongKey) {
		a.log.Error("the team's OpenPGP key in the database cannot be used", "err", err)
		if ke := (*pgpmime.KeyError)(nil); errors.As(err, &ke) {
			return &startError{i18n.M("cli.start.identity.unusable", ke.Problem), err}
		}
		return &startError{i18n.M("cli.start.identity.broken"), err}
	}
	return failedTo(err, "cli.start.identity")
}

// kick wakes the sender after the notifier queued messages.
func (n *notifications) kick() {
	if n.sender != nil {
		n.sender.Kick()
	}
}
