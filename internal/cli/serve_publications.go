package cli

import (
	"context"
	"time"

	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/cvss"
)

// publicationEvery is how often scheduled publications are looked for.
const publicationEvery = 30 * time.Second

// publications returns the publications' service as the configuration
// sets it: idents, languages, severities, and the channels publishing
// queues deliveries for.
func (a *app) publications() *publication.Service {
	return &publication.Service{Store: a.store.Publications, Audit: a.store,
		IdentPattern: a.cfg.Publishing.IdentPattern, Rules: a.cfg.Publishing.Rules(), Score: cvss.Score}
}

// startScheduledPublishing publishes the scheduled publications as their
// time comes, under a lease: of several processes on one database, one
// publishes (a second would find them published already, but would log
// the refusal).
func (a *app) startScheduledPublishing(group *jobs, svc *publication.Service) {
	log := a.log.With("job", "scheduled publications")
	group.run("scheduled publications", func(ctx context.Context) error {
		return lease.Hold(ctx, a.store, "publications", lease.Options{Logger: a.log}, func(ctx context.Context) error {
			tick := time.NewTicker(publicationEvery)
			defer tick.Stop()
			for {
				if n, err := svc.PublishDue(ctx); err != nil {
					log.Warn("publishing scheduled publications", "err", err, "published", n)
				} else if n > 0 {
					log.Info("published scheduled publications", "published", n)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-tick.C:
				}
			}
		})
	})
}
