package mailin

import (
	"context"
	"log/slog"
	"time"
)

// Purger is what purging needs of the spool.
type Purger interface {
	PurgeMail(ctx context.Context, before time.Time) (int64, error)
}

// RunPurge deletes the messages marked done more than retention ago, at
// once and then every interval, until ctx ends. A failed purge is logged
// and tried again at the next interval: it loses nothing.
func RunPurge(ctx context.Context, p Purger, retention, interval time.Duration, log *slog.Logger) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		n, err := p.PurgeMail(ctx, time.Now().Add(-retention))
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Warn("mail spool: purge failed", "err", err)
		case n > 0:
			log.Info("mail spool: purged handled messages", "messages", n, "retention", retention)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
