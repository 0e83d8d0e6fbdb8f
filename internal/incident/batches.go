package incident

import (
	"context"
	"log/slog"
	"time"
)

// RunBatches runs once every interval until ctx ends, and again at once
// while a run took a whole batch (more is waiting): the loop of the
// workers that feed the triage queue (the mail intake's reports, the
// pipeline's alerts). An error is logged as what failed and the loop waits
// for the next interval.
func RunBatches(ctx context.Context, interval time.Duration, batch int, once func(context.Context) (int, error), log *slog.Logger, what string) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := once(ctx)
			if err != nil && ctx.Err() == nil {
				log.Error(what, "err", err)
			}
			if err != nil || n < batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
