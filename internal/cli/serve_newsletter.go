package cli

import (
	"context"
	"net/mail"
	"strings"

	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/console"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/publication/newsletter/newsletterdb"
)

// startNewsletter builds the newsletter when newsletter.enabled is on: the
// service behind the public pages and the subscribers page (a.newsletter,
// which startWeb gives the console), and the mailer, run under the
// "newsletter" lease so that one process of several on a database sends.
//
// The newsletter is among the publications' channels when it is enabled
// (publicationChannels): a published digest or warning gets a
// "newsletter" delivery, which the publication
// outbox's worker (startPublishing, given a.newsletterChannel) turns
// into an issue. With
// newsletter.digest.enabled the weekly digest is made under the
// "newsletter-digest" lease.
func (a *app) startNewsletter(ctx context.Context, group *jobs, notes *notifications, pubs *publication.Service) error {
	cfg := a.cfg.Newsletter
	if !cfg.Enabled {
		return nil
	}
	// config.Validate checked the section (its languages too), and
	// explained any problem in the operator's language.
	cat := i18n.Embedded()
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return &config.Error{Key: "newsletter.from", Message: i18n.M("config.error.newsletter.from", cfg.From), Err: err}
	}
	secret, err := newsletter.LoadSecret(ctx, a.store)
	if err != nil {
		return err
	}
	// The links lead to the site's address (its form and pages are
	// served beside it), unless newsletter.public_url says otherwise.
	base := cfg.PublicURL
	if base == "" {
		base = a.siteBase()
		if base == a.webBase {
			a.log.Warn("newsletter links point at the listen address: set public_url or newsletter.public_url", "url", base)
		}
	}
	// A publication's link: Vigil's own site unless publication_url
	// names another.
	pubURL := cfg.PublicationURL
	if pubURL == "" {
		pubURL = strings.TrimSuffix(a.siteBase(), "/") + "/{lang}/p/{ident}"
	}
	mails, err := newsletter.NewMails(cat, from, strings.TrimSuffix(base, "/"), pubURL, secret)
	if err != nil {
		return err
	}
	// The mailer's own relay client: it delivers one mail at a time and
	// records nothing in the outbox's queue.
	relay, err := outbox.NewSender(a.cfg.SMTP, nil, a.log)
	if err != nil {
		return relayError(a.cfg.SMTP.Host, err)
	}
	mailer := &newsletter.Mailer{Store: a.store.Newsletter, Mails: mails, Relay: relay, Log: a.log.With("component", "newsletter"),
		Poll: cfg.Poll, Publications: a.store.Publications}
	a.newsletter = &newsletter.Service{Store: a.store.Newsletter, Mails: mails, Config: cfg, Kick: notes.kick}
	a.newsletterChannel = &newsletter.Channel{Store: a.store.Newsletter, Kick: mailer.Kick}
	a.bounces = newsletterdb.Bounces{Secret: secret}
	// A withdrawal in this process skips the publication's queued mails
	// at once; the mailer's check before each mail catches the others.
	pubs.Withdrawn = func(ctx context.Context, p publication.Publication) {
		if err := mailer.Withdrawn(context.WithoutCancel(ctx), p); err != nil {
			a.log.Error("newsletter: skipping the mails of a withdrawn publication failed", "ident", p.Ident, "err", err)
		}
	}
	group.run("newsletter", func(ctx context.Context) error {
		return lease.Hold(ctx, a.store, "newsletter", lease.Options{Logger: a.log}, mailer.Run)
	})
	// The digest is made weekly with newsletter.digest.enabled, and
	// whenever the team asks (the publication list's button).
	schedule, err := cfg.Digest.Schedule()
	if err != nil {
		return err
	}
	digests := &newsletter.Digests{Service: pubs, State: a.store, Catalog: cat, Schedule: schedule,
		AutoPublish: cfg.Digest.AutoPublish, PublicationURL: pubURL, Log: a.log.With("component", "newsletter digest")}
	a.newsletterDigests = digests
	if cfg.Digest.Enabled {
		group.run("newsletter digest", func(ctx context.Context) error {
			return lease.Hold(ctx, a.store, "newsletter-digest", lease.Options{Logger: a.log}, digests.Run)
		})
	}
	return nil
}

// publicationPages configures the console's publication pages: the
// service, and the newsletter's digest maker when there is a newsletter
// (a nil maker must not reach the console as a non-nil interface).
func (a *app) publicationPages() console.PublicationPages {
	p := console.PublicationPages{Service: a.pubs}
	if a.newsletterDigests != nil {
		p.Digests = a.newsletterDigests
	}
	return p
}
