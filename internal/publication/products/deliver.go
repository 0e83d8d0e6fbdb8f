package products

// Running the channel's queued deliveries: what the publication outbox's
// worker (internal/publication/channel) does for every channel, kept
// here for this one channel so that it runs on its own too.

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
)

// DeliveryStore is what DeliverDue reads and writes.
type DeliveryStore interface {
	GetPublication(ctx context.Context, id int64) (publication.Publication, error)
	publication.Deliveries
}

// Retries of a failed delivery: after 1, 2, 4, … minutes up to an hour,
// given up after MaxAttempts.
const (
	MaxAttempts  = 12
	firstBackoff = time.Minute
	maxBackoff   = time.Hour
)

// DeliverDue sends the channel's due deliveries (up to 100) with s and
// records each outcome: sent with the reply, or retried later with the
// error, failed after MaxAttempts. It returns how many it sent and the
// first error reading or writing the store.
func DeliverDue(ctx context.Context, st DeliveryStore, s *Sender, now time.Time) (int, error) {
	due, err := st.DueDeliveries(ctx, ChannelName, now, 100)
	if err != nil {
		return 0, fmt.Errorf("products: due deliveries: %w", err)
	}
	sent := 0
	for _, d := range due {
		p, err := st.GetPublication(ctx, d.PublicationID)
		var reply string
		if err == nil {
			reply, err = s.Send(ctx, p, d)
		}
		d.Attempts++
		switch {
		case err == nil:
			d.Status, d.Reply, d.LastError, d.Done = publication.DeliverySent, reply, "", now
			sent++
		case d.Attempts >= MaxAttempts:
			d.Status, d.LastError, d.Done = publication.DeliveryFailed, err.Error(), now
		default:
			backoff := firstBackoff << min(d.Attempts-1, 10)
			d.LastError, d.NextAttempt = err.Error(), now.Add(min(backoff, maxBackoff))
		}
		if err := st.FinishDelivery(ctx, d); err != nil {
			return sent, fmt.Errorf("products: finish delivery %d: %w", d.ID, err)
		}
	}
	return sent, nil
}
