package newsletter

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// DigestStateKey keeps the end of the window of the last digest made,
// by the schedule or by hand, its moment and its publication
// (digeststate.go), so that a restart neither skips a week nor makes one
// twice, and no two digests cover the same days.
const DigestStateKey = "newsletter.digest.last"

// Digests makes the weekly digest: at each scheduled moment, a KindDigest
// publication listing the week's public publications in every language,
// left as a draft for the team, or published at once when AutoPublish is
// set (it is Vigil's own text, made only from what is public already, so
// it needs no second pair of eyes).
type Digests struct {
	Service  *publication.Service
	State    DigestStateStore
	Catalog  *i18n.Catalog
	Schedule Schedule
	// AutoPublish publishes each digest without review.
	AutoPublish bool
	// PublicationURL links each publication, with {lang} and {ident}.
	PublicationURL string
	Log            *slog.Logger
	Now            func() time.Time
}

func (d *Digests) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

func (d *Digests) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Run makes each week's digest when its moment has come, until ctx ends.
func (d *Digests) Run(ctx context.Context) error {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if _, err := d.MakeDue(ctx); err != nil && ctx.Err() == nil {
			d.log().Error("weekly digest", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// MakeDue makes the digest of the last scheduled moment unless one was
// made already; it reports whether it made one. The digest covers the
// days from the end of the last one (by the schedule or by hand) to the
// moment; it makes none when a digest reaches the moment already, or
// when what is left is shorter than MinDigestWindow (a digest made by
// hand the day before). The first run only notes the moment: a new
// installation does not send a digest of last week at once.
func (d *Digests) MakeDue(ctx context.Context) (bool, error) {
	now := d.now().UTC()
	last := d.Schedule.Last(now).UTC()
	old, prev, found, err := d.readState(ctx)
	switch {
	case err != nil:
		return false, err
	case !found:
		_, err := d.swapState(ctx, old, digestState{End: last, Noted: true})
		return false, err
	case last.Sub(prev.End) < MinDigestWindow:
		return false, nil
	}
	claim := digestState{End: last, Made: now}
	if ok, err := d.swapState(ctx, old, claim); err != nil || !ok {
		// Another digest was noted since the read: the next tick
		// looks again.
		return false, err
	}
	p, err := d.makeClaimed(ctx, old, claim, prev.End)
	if err != nil {
		return false, err
	}
	d.log().Info("weekly digest made", "ident", p.Ident, "status", p.Status, "from", prev.End, "to", last)
	return true, nil
}

// Make creates the digest of the public publications published in
// [from, to), and publishes it when AutoPublish is set.
func (d *Digests) Make(ctx context.Context, from, to time.Time) (publication.Publication, error) {
	page, err := d.Service.Store.ListPublications(ctx, publication.Query{Public: true, Since: from, Until: to, Limit: 1000})
	if err != nil {
		return publication.Publication{}, fmt.Errorf("newsletter: the week's publications: %w", err)
	}
	var week []publication.Publication
	for _, p := range page.Publications {
		if p.Public() && p.Kind != publication.KindDigest {
			week = append(week, p)
		}
	}
	c := d.Content(week, from, to)
	p, err := d.Service.Create(ctx, publication.System, publication.KindDigest, c, "digest "+to.Format("2006-01-02"))
	if err != nil {
		return p, fmt.Errorf("newsletter: create the digest: %w", err)
	}
	if !d.AutoPublish {
		return p, nil
	}
	// On an error from here on the digest exists: it is returned as
	// created, for the team to finish.
	created := p
	if p, err = d.Service.Submit(ctx, publication.System, p.ID); err != nil {
		return created, fmt.Errorf("newsletter: submit the digest: %w", err)
	}
	// The four-eyes rule is for what people write; the digest is made
	// by Vigil from publications that were approved and are public.
	_, err = d.Service.Store.ChangePublication(ctx, p.ID, func(p *publication.Publication) (publication.Change, *publication.Revision, []publication.Delivery, error) {
		if _, err := publication.CheckTransition(p.Status, publication.ActionApprove); err != nil {
			return publication.Change{}, nil, nil, err
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		p.Status, p.Approver, p.Updated = publication.StatusApproved, publication.System.Name, now
		return publication.Change{At: now, User: publication.System.Name, Action: publication.ActionApprove,
			Note: "generated digest, published without review (newsletter.digest.auto_publish)"}, nil, nil, nil
	})
	if err != nil {
		return created, fmt.Errorf("newsletter: approve the digest: %w", err)
	}
	if p, err = d.Service.Publish(ctx, publication.System, p.ID); err != nil {
		return created, fmt.Errorf("newsletter: publish the digest: %w", err)
	}
	return p, nil
}

// Content is the digest of the publications given, in every language
// of the service's rules: a title with the week's date, a line saying
// which week, and one item per publication with its ident, severity,
// title, summary and link, in the reader's language where it has one.
func (d *Digests) Content(week []publication.Publication, from, to time.Time) publication.Content {
	rules := d.Service.RulesOrDefault()
	c := publication.Content{TLP: publication.TLPClear, Severity: rules.Severities[len(rules.Severities)-1]}
	for _, p := range week {
		if i := slices.Index(rules.Severities, p.Severity); i >= 0 && i < slices.Index(rules.Severities, c.Severity) {
			c.Severity = p.Severity
		}
	}
	loc := d.Schedule.Location
	if loc == nil {
		loc = time.UTC
	}
	for _, lang := range rules.Languages {
		t := publication.Text{Lang: lang,
			Title: d.Catalog.T(lang, "newsletter.digest.title", d.Catalog.Date(lang, to.In(loc))),
			Summary: d.Catalog.T(lang, "newsletter.digest.summary", d.Catalog.Date(lang, from.In(loc)),
				d.Catalog.Date(lang, to.Add(-time.Second).In(loc)))}
		var body strings.Builder
		if len(week) == 0 {
			body.WriteString(d.Catalog.T(lang, "newsletter.digest.empty"))
		}
		for _, p := range week {
			text, _ := p.Text(lang)
			body.WriteString(publication.DigestItem(p.Ident, p.Severity, markdownLink(text.Title, d.link(p, text.Lang)), text.Summary) + "\n")
		}
		t.Body = body.String()
		c.Texts = append(c.Texts, t)
	}
	return c
}

func (d *Digests) link(p publication.Publication, lang string) string {
	if d.PublicationURL == "" {
		return ""
	}
	return strings.NewReplacer("{lang}", url.PathEscape(lang), "{ident}", url.PathEscape(p.Ident)).Replace(d.PublicationURL)
}

// markdownLink writes [title](url), the title's brackets escaped; the
// title alone without a URL.
func markdownLink(title, link string) string {
	title = strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, "\n", " ").Replace(title)
	if link == "" {
		return title
	}
	return "[" + title + "](<" + strings.NewReplacer("<", "%3C", ">", "%3E").Replace(link) + ">)"
}
