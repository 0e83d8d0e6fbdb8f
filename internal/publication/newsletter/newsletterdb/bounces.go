package newsletterdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// Bounces takes the delivery status notifications that answer newsletter
// mail, for the mail intake's worker (mailreport.Worker.Bounces): the
// subscriber whose address failed for good is marked bounced, in the
// same transaction as the mail's "done", and the notification does not
// become a report in the triage queue.
type Bounces struct {
	// Secret signs the newsletter's unsubscribe links (LoadSecret).
	Secret []byte
}

// Bounced handles one notification in tx. It takes every notification
// that returns a newsletter mail's header, whatever it says: a delay, or
// a failure of another address the subscriber forwards to, marks nothing
// but is not a report either. Any other notification is left (false).
func (b Bounces) Bounced(ctx context.Context, tx sqlkit.DB, dsn mailin.Bounce, at time.Time) (bool, error) {
	id, ok := newsletter.BouncedSubscriber(b.Secret, dsn)
	if !ok {
		return false, nil
	}
	sub, err := New(tx).GetSubscriber(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil // removed since
	}
	if err != nil {
		return false, err
	}
	if sub.Status != newsletter.StatusConfirmed || !dsn.FailedPermanently(sub.Address) {
		return true, nil
	}
	d := tx.Dialect()
	if _, err := tx.Exec(ctx, `UPDATE newsletter_subscribers SET status = ?, changed = ?, confirm_hash = NULL
		WHERE id = ? AND status = ?`, newsletter.StatusBounced, d.Time(at.UTC()), id, newsletter.StatusConfirmed); err != nil {
		return false, fmt.Errorf("mark subscriber %d bounced: %w", id, err)
	}
	return true, nil
}
