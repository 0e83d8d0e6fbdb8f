package publication

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
)

// Actor is who does something to a publication: an account, or Vigil
// itself (UserID 0, for scheduled publishing and generated digests).
type Actor struct {
	UserID int64
	Name   string
}

// System is Vigil acting on its own.
var System = Actor{Name: "vigil"}

// ChannelSpec says which publications a channel takes and how its
// deliveries are made.
type ChannelSpec struct {
	// Name is the channel's name in its deliveries ("website",
	// "mastodon", "webhook:bridge", …).
	Name string
	// PerLanguage channels get one delivery for each of the
	// publication's languages that are also in Languages (nil: every
	// one); the others one delivery for all.
	PerLanguage bool
	Languages   []string
	// Accepts says whether the channel takes p; nil takes what
	// Publication.Public allows. A publication a channel does not take
	// gets a skipped delivery, so its page says where it did not go.
	Accepts func(p *Publication) bool
	// Served channels (the website, the feeds, the CSAF provider) serve
	// from the store: publishing is their delivery, recorded as sent at
	// once.
	Served bool
}

// DefaultChannels are the channels every Vigil has: the website and the
// feeds for every public publication, the CSAF provider for public
// advisories and warnings.
var DefaultChannels = []ChannelSpec{
	{Name: "website", Served: true},
	{Name: "feeds", Served: true},
	{Name: "csaf", Served: true, Accepts: func(p *Publication) bool {
		return p.Public() && (p.Kind == KindAdvisory || p.Kind == KindWarning)
	}},
}

// Service is the publications' workflow over their store: each
// operation checks the move, writes it with its history entry (and, on
// publishing, the revision and the deliveries) in one transaction, then
// its audit entry. Zero fields take their defaults.
type Service struct {
	Store Publications
	Audit auth.AuditLog
	// IdentPattern makes idents: {year} is the year, {n} the year's
	// number, {n:4} zero-padded to four digits. Default
	// "VIGIL-{year}-{n:4}".
	IdentPattern string
	// Rules are the languages (primary first; default en, nl, fr) and
	// the severity scale (default DefaultSeverities).
	Rules Rules
	// Channels take published publications; DefaultChannels by default.
	Channels []ChannelSpec
	// Score computes a CVSS vector's score (package cvss); nil keeps
	// the scores as given.
	Score func(vector string) (CVSS, error)
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// Published, when set, is called after each publication is
	// published (and its deliveries queued): `vigil serve` wakes the
	// publication outbox with it, so that a warning goes out at once.
	Published func(p Publication)
	// Withdrawn, when set, is called after a publication is withdrawn:
	// `vigil serve` skips its queued newsletter mails with it (and logs
	// what fails: the withdrawal stands).
	Withdrawn func(ctx context.Context, p Publication)
}

// DefaultIdentPattern is the idents' pattern without configuration.
const DefaultIdentPattern = "VIGIL-{year}-{n:4}"

// DefaultLanguages are the publications' languages without
// configuration, the primary first.
var DefaultLanguages = []string{"en", "nl", "fr"}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// RulesOrDefault returns the service's rules with their defaults.
func (s *Service) RulesOrDefault() Rules { return s.Rules.withDefaults() }

func (s *Service) channels() []ChannelSpec {
	if s.Channels == nil {
		return DefaultChannels
	}
	return s.Channels
}

// FormatIdent makes an ident of pattern for the year's n-th publication.
func FormatIdent(pattern string, year, n int) string {
	if pattern == "" {
		pattern = DefaultIdentPattern
	}
	out := strings.ReplaceAll(pattern, "{year}", strconv.Itoa(year))
	for width := 9; width >= 1; width-- {
		out = strings.ReplaceAll(out, fmt.Sprintf("{n:%d}", width), fmt.Sprintf("%0*d", width, n))
	}
	return strings.ReplaceAll(out, "{n}", strconv.Itoa(n))
}

// prepare checks c and computes its CVSS scores; every text's Updated is
// set from before (the content it replaces): kept where the text did not
// change, now where it did.
func (s *Service) prepare(c *Content, before *Content, now time.Time) error {
	if err := s.RulesOrDefault().Check(c); err != nil {
		return err
	}
	for i, v := range c.CVSS {
		if s.Score == nil {
			continue
		}
		scored, err := s.Score(v.Vector)
		if err != nil {
			return err
		}
		c.CVSS[i] = scored
	}
	for i := range c.Texts {
		t := &c.Texts[i]
		t.Updated = now
		if before == nil {
			continue
		}
		if old, ok := before.Text(t.Lang); ok && old.Lang == t.Lang && sameText(old, *t) {
			t.Updated = old.Updated
		}
	}
	return nil
}

func sameText(a, b Text) bool {
	return a.Title == b.Title && a.Summary == b.Summary && a.Body == b.Body &&
		slices.Equal(a.Recommendations, b.Recommendations)
}

// Create stores a new draft of kind with content c, written by a.
func (s *Service) Create(ctx context.Context, a Actor, kind Kind, c Content, source string) (Publication, error) {
	if !kind.Valid() {
		return Publication{}, Refuse("kind", "publication.error.kind", string(kind))
	}
	now := s.now()
	if err := s.prepare(&c, nil, now); err != nil {
		return Publication{}, err
	}
	if len(source) > MaxShortField {
		return Publication{}, Refuse("source", "publication.error.long", MaxShortField)
	}
	p := Publication{Kind: kind, Status: StatusDraft, Content: c, Source: source,
		AuthorID: a.UserID, Author: a.Name, EditorID: a.UserID, Editor: a.Name, Created: now, Updated: now}
	p.Severity, p.TLP = c.Severity, c.TLP
	ident := func(year, n int) string { return FormatIdent(s.IdentPattern, year, n) }
	err := s.Store.CreatePublication(ctx, &p, ident, Change{At: now, UserID: a.UserID, User: a.Name, Action: ActionCreate})
	if err != nil {
		return p, err
	}
	return p, s.audit(ctx, a, "publication.create", p, string(kind))
}

// Edit replaces the content of a publication. A draft or one in review
// keeps its status; an approved or scheduled one goes back to review (it
// needs approving again); a published one's edit is the draft of its
// next revision, with note as its change note, while the current one
// stays online. A withdrawn one cannot be edited.
func (s *Service) Edit(ctx context.Context, a Actor, id int64, c Content, note string) (Publication, error) {
	now := s.now()
	if len(note) > MaxSummary {
		return Publication{}, Refuse("note", "publication.error.long", MaxSummary)
	}
	p, err := s.Store.ChangePublication(ctx, id, func(p *Publication) (Change, *Revision, []Delivery, error) {
		switch p.Status {
		case StatusWithdrawn:
			return Change{}, nil, nil, Refuse("status", "publication.error.transition", ActionEdit, p.Status)
		case StatusPublished:
			before := &p.Content
			if p.Next != nil {
				before = &p.Next.Content
			}
			if err := s.prepare(&c, before, now); err != nil {
				return Change{}, nil, nil, err
			}
			next := Next{Content: c, Status: StatusDraft, Note: note, EditorID: a.UserID, Editor: a.Name, Updated: now}
			if p.Next != nil && p.Next.Status != StatusApproved {
				next.Status = p.Next.Status
			} else if p.Next != nil {
				next.Status = StatusReview
			}
			p.Next = &next
		default:
			if err := s.prepare(&c, &p.Content, now); err != nil {
				return Change{}, nil, nil, err
			}
			p.Content = c
			p.EditorID, p.Editor = a.UserID, a.Name
			if p.Status == StatusApproved || p.Status == StatusScheduled {
				p.Status, p.Scheduled, p.ApproverID, p.Approver = StatusReview, time.Time{}, 0, ""
			}
		}
		p.Updated = now
		return Change{At: now, UserID: a.UserID, User: a.Name, Action: ActionEdit, Note: note}, nil, nil, nil
	})
	if err != nil {
		return p, err
	}
	return p, s.audit(ctx, a, "publication.edit", p, note)
}

// Submit sends a draft (or the draft of the next revision) to review.
func (s *Service) Submit(ctx context.Context, a Actor, id int64) (Publication, error) {
	return s.move(ctx, a, id, ActionSubmit, "", nil)
}

// Reject sends a publication in review, approved or scheduled (or its
// next revision) back to draft, with the reason.
func (s *Service) Reject(ctx context.Context, a Actor, id int64, reason string) (Publication, error) {
	if strings.TrimSpace(reason) == "" {
		return Publication{}, Refuse("reason", "publication.error.reason")
	}
	return s.move(ctx, a, id, ActionReject, reason, nil)
}

// Approve approves a publication in review (or its next revision): never
// by its author or its last editor (CanApprove).
func (s *Service) Approve(ctx context.Context, a Actor, id int64) (Publication, error) {
	return s.move(ctx, a, id, ActionApprove, "", func(p *Publication) error {
		author, editor := p.AuthorID, p.EditorID
		if p.Next != nil {
			author, editor = p.Next.EditorID, p.Next.EditorID
		}
		if !CanApprove(author, editor, a.UserID) {
			return Refuse("", "publication.error.foureyes")
		}
		p.ApproverID, p.Approver = a.UserID, a.Name
		return nil
	})
}

// Schedule makes an approved publication go out at at, which must be in
// the future.
func (s *Service) Schedule(ctx context.Context, a Actor, id int64, at time.Time) (Publication, error) {
	at = at.UTC().Truncate(time.Microsecond)
	if !at.After(s.now()) {
		return Publication{}, Refuse("scheduled", "publication.error.past")
	}
	return s.move(ctx, a, id, ActionSchedule, at.Format(time.RFC3339), func(p *Publication) error {
		if p.Next != nil {
			return Refuse("status", "publication.error.transition", ActionSchedule, p.Status)
		}
		p.Scheduled = at
		return nil
	})
}

// Withdraw takes a published publication offline, with the reason; its
// page stays, saying it was withdrawn and why.
func (s *Service) Withdraw(ctx context.Context, a Actor, id int64, reason string) (Publication, error) {
	if strings.TrimSpace(reason) == "" {
		return Publication{}, Refuse("reason", "publication.error.reason")
	}
	p, err := s.move(ctx, a, id, ActionWithdraw, reason, func(p *Publication) error {
		p.Withdrawn, p.Next = s.now(), nil
		return nil
	})
	if err == nil && s.Withdrawn != nil {
		s.Withdrawn(ctx, p)
	}
	return p, err
}

// move makes the transition of action on the publication, or on its next
// revision when it is published and has one; then runs also, which may
// refuse.
func (s *Service) move(ctx context.Context, a Actor, id int64, action, note string, also func(*Publication) error) (Publication, error) {
	now := s.now()
	p, err := s.Store.ChangePublication(ctx, id, func(p *Publication) (Change, *Revision, []Delivery, error) {
		if p.Status == StatusPublished && p.Next != nil && action != ActionWithdraw {
			to, err := CheckTransition(p.Next.Status, action)
			if err != nil {
				return Change{}, nil, nil, err
			}
			p.Next.Status = to
		} else {
			to, err := CheckTransition(p.Status, action)
			if err != nil {
				return Change{}, nil, nil, err
			}
			if to == StatusDraft || to == StatusReview {
				p.Scheduled = time.Time{}
			}
			p.Status = to
		}
		if also != nil {
			if err := also(p); err != nil {
				return Change{}, nil, nil, err
			}
		}
		p.Updated = now
		return Change{At: now, UserID: a.UserID, User: a.Name, Action: action, Note: note}, nil, nil, nil
	})
	if err != nil {
		return p, err
	}
	return p, s.audit(ctx, a, "publication."+action, p, note)
}

// Publish publishes an approved or scheduled publication as its first
// revision, or the approved next revision of a published one, and
// queues its deliveries, all in one transaction.
func (s *Service) Publish(ctx context.Context, a Actor, id int64) (Publication, error) {
	now := s.now()
	p, err := s.Store.ChangePublication(ctx, id, func(p *Publication) (Change, *Revision, []Delivery, error) {
		note := ""
		if p.Status == StatusPublished && p.Next != nil {
			if p.Next.Status != StatusApproved {
				return Change{}, nil, nil, Refuse("status", "publication.error.transition", ActionPublish, p.Next.Status)
			}
			p.Content, note = p.Next.Content, p.Next.Note
			p.EditorID, p.Editor = p.Next.EditorID, p.Next.Editor
			p.Next = nil
		} else {
			to, err := CheckTransition(p.Status, ActionPublish)
			if err != nil {
				return Change{}, nil, nil, err
			}
			p.Status, p.Published, p.Scheduled = to, now, time.Time{}
		}
		p.Revision++
		p.Updated = now
		p.Severity, p.TLP = p.Content.Severity, p.Content.TLP
		rev := &Revision{Number: p.Revision, Published: now, Note: note, By: p.Approver, Content: p.Content}
		action := ActionPublish
		if p.Revision > 1 {
			action = ActionUpdate
		}
		return Change{At: now, UserID: a.UserID, User: a.Name, Action: action, Note: note}, rev, s.Deliveries(p, now), nil
	})
	if err != nil {
		return p, err
	}
	if s.Published != nil {
		s.Published(p)
	}
	return p, s.audit(ctx, a, "publication.publish", p, "revision "+strconv.Itoa(p.Revision))
}

// Deliveries are the deliveries of p's current revision: one per
// channel, or per channel and language, queued, sent at once (served
// channels) or skipped (the channel does not take p).
func (s *Service) Deliveries(p *Publication, now time.Time) []Delivery {
	var out []Delivery
	for _, ch := range s.channels() {
		accepted := ch.accepts(p)
		langs := []string{""}
		if ch.PerLanguage {
			langs = langs[:0]
			for _, l := range p.Languages() {
				if ch.Languages == nil || slices.Contains(ch.Languages, l) {
					langs = append(langs, l)
				}
			}
		}
		for _, lang := range langs {
			d := Delivery{PublicationID: p.ID, Revision: p.Revision, Channel: ch.Name, Lang: lang,
				Status: DeliveryQueued, NextAttempt: now, Created: now}
			switch {
			case !accepted:
				d.Status, d.Done, d.LastError = DeliverySkipped, now, ch.refusal(p).Encode()
			case ch.Served:
				d.Status, d.Done = DeliverySent, now
			}
			out = append(out, d)
		}
	}
	return out
}

// accepts reports whether the channel takes p.
func (ch *ChannelSpec) accepts(p *Publication) bool {
	if ch.Accepts != nil {
		return ch.Accepts(p)
	}
	return p.Public()
}

// refusal says why the channel does not take p, for the skipped
// delivery's page: its TLP, when the channel would take it as TLP:CLEAR,
// else its kind.
func (ch *ChannelSpec) refusal(p *Publication) i18n.Message {
	asClear := *p
	asClear.TLP = TLPClear
	if ch.accepts(&asClear) {
		return i18n.M("publication.skip.tlp", string(p.TLP))
	}
	return i18n.M("publication.skip.kind", i18n.M("publications.kind."+string(p.Kind)))
}

// PublishDue publishes the scheduled publications whose time has come,
// as Vigil; it returns how many it published and the first error.
func (s *Service) PublishDue(ctx context.Context) (int, error) {
	due, err := s.Store.DueScheduled(ctx, s.now())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range due {
		if _, err := s.Publish(ctx, System, p.ID); err != nil {
			return n, fmt.Errorf("publish %s: %w", p.Ident, err)
		}
		n++
	}
	return n, nil
}

// audit records an action on a publication in the audit log.
func (s *Service) audit(ctx context.Context, a Actor, action string, p Publication, detail string) error {
	if s.Audit == nil {
		return nil
	}
	if len(detail) > MaxShortField {
		detail = strings.ToValidUTF8(detail[:MaxShortField], "")
	}
	return auth.Record(context.WithoutCancel(ctx), s.Audit, auth.AuditEntry{UserID: a.UserID, Actor: a.Name,
		Action: action, Target: "publication " + p.Ident, Detail: detail, Time: s.now()})
}
