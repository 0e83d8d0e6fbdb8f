package cli

import (
	"context"
	"slices"

	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/channel"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/publication/products"
)

// publicationChannels are the channels the publication service queues
// deliveries for: the website, the feeds and the CSAF provider, and the
// configured social channels (social:). The service that publishes
// takes them as its Channels; the newsletter's and the constituents'
// specs go beside them.
func publicationChannels(cfg config.Config) []publication.ChannelSpec {
	specs := append(slices.Clone(publication.DefaultChannels), channel.Specs(cfg.Social)...)
	specs = append(specs, products.Channel)
	if cfg.Newsletter.Enabled {
		specs = append(specs, (&newsletter.Channel{}).Spec())
	}
	return specs
}

// startPublishing runs the publication outbox under a lease, so that of
// several processes on one database one sends: the social channels'
// senders from the configuration, and extra, the other channels' (the
// newsletter's, the constituents' notifications). With no sender at all
// it runs nothing. It returns the worker, whose Kick sends at once after
// publishing, or nil.
func (a *app) startPublishing(group *jobs, getenv func(string) string, extra ...channel.Sender) (*channel.Worker, error) {
	cfg := a.cfg.Social
	// The posts link to the site where readers reach it (social.site_url
	// overrides).
	senders, err := channel.NewSenders(cfg, a.siteBase(), getenv, nil)
	if err != nil {
		return nil, err
	}
	reg := &channel.Registry{}
	for _, s := range append(senders, extra...) {
		if err := reg.Register(s); err != nil {
			return nil, err
		}
	}
	if len(reg.Senders()) == 0 {
		return nil, nil
	}
	log := a.log.With("job", "publication outbox")
	worker := &channel.Worker{Deliveries: a.store.Publications, Publications: a.store.Publications, Registry: reg,
		Retry: cfg.Retry, Poll: cfg.Poll, Log: log}
	group.run("publication outbox", func(ctx context.Context) error {
		return lease.Hold(ctx, a.store, "publication-outbox", lease.Options{Logger: a.log}, worker.Run)
	})
	names := make([]string, 0, len(reg.Senders()))
	for _, s := range reg.Senders() {
		names = append(names, s.Name())
	}
	log.Info("publication outbox started", "channels", names)
	return worker, nil
}
