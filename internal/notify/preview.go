package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// Preview is a rendered notification as the console's template editor
// shows it: before signing, for one organisation and some events.
type Preview struct {
	Subject string
	// Text is the readable part, as the recipient's client shows it.
	Text string
	// Entity is the MIME entity that would be signed.
	Entity      []byte
	Attachments []Attachment
	// Parts is how many messages the events would take.
	Parts int
}

// Preview renders the template lang/name as it stands (the team's
// override, else the built-in) for org and events (SampleEvents when
// nil). A digest or immediate template renders a message of that kind; a
// type explanation renders a digest of the events, all given that type.
// Unlike sending, a failing override is an error, not a fallback.
func (n *Notifier) Preview(ctx context.Context, lang, name string, org constituency.Organisation, events []store.StoredEvent) (Preview, error) {
	return n.preview(ctx, nil, lang, name, org, events)
}

// PreviewDraft renders the unsaved template t as Preview would once it is
// saved; a template that does not parse or execute is an error (a
// *TemplateError with the line).
func (n *Notifier) PreviewDraft(ctx context.Context, t TemplateSource, org constituency.Organisation, events []store.StoredEvent) (Preview, error) {
	n.mu.Lock()
	pc := n.pass
	n.mu.Unlock()
	parsed, err := parseTemplate(t, pc.zone)
	if err != nil {
		return Preview{}, err
	}
	return n.preview(ctx, parsed, t.Language, t.Name, org, events)
}

func (n *Notifier) preview(ctx context.Context, draft *Template, lang, name string, org constituency.Organisation, events []store.StoredEvent) (Preview, error) {
	if !ValidLanguage(lang) {
		return Preview{}, fmt.Errorf("preview: unknown language %q", lang)
	}
	if !ValidName(name) {
		return Preview{}, fmt.Errorf("preview: unknown template %q", name)
	}
	n.mu.Lock()
	pc := n.pass
	n.mu.Unlock()
	overrides, err := n.store.ListNotificationTemplates(ctx)
	if err != nil {
		return Preview{}, fmt.Errorf("preview: %w", err)
	}
	r := pc.render.withOverride(nil)
	r.setOverrides(overrides)
	r = r.withOverride(draft)
	if events == nil {
		events = SampleEvents()
	}
	if org.Handle == "" {
		org = SampleOrganisation()
	}
	in := renderInput{Kind: NameDigest, Org: org, Language: lang, Format: FormatSummary, Events: events, Now: sampleTime}
	switch {
	case name == NameImmediate:
		in.Kind = NameImmediate
		if len(events) > 0 {
			in.Type = events[0].Event.Value("classification.type")
		}
	case strings.HasPrefix(name, TypePrefix):
		typ := strings.TrimPrefix(name, TypePrefix)
		if typ == GenericType {
			typ = "other"
		}
		in.Events = make([]store.StoredEvent, len(events))
		for i, e := range events {
			c := e.Event.Clone()
			c.SetTrusted("classification.type", typ)
			if tax, ok := taxonomy.TaxonomyOf(typ); ok {
				c.SetTrusted("classification.taxonomy", tax)
			}
			in.Events[i] = store.StoredEvent{Hash: e.Hash, Stored: e.Stored, Event: c}
		}
	}
	msgs, err := r.render(in)
	if err != nil {
		return Preview{}, fmt.Errorf("preview: %w", err)
	}
	if len(msgs) == 0 {
		return Preview{}, errors.New("preview: no events to show")
	}
	m := msgs[0]
	p := Preview{Subject: m.Subject, Entity: m.Entity, Parts: len(msgs), Text: m.text, Attachments: m.attachments}
	for i := range msgs {
		r.done(&msgs[i])
	}
	return p, nil
}

// Editor is what the console and the API use of a Notifier: previews and
// checked saves of templates, and taking a new team key at once.
type Editor interface {
	Preview(ctx context.Context, lang, name string, org constituency.Organisation, events []store.StoredEvent) (Preview, error)
	PreviewDraft(ctx context.Context, t TemplateSource, org constituency.Organisation, events []store.StoredEvent) (Preview, error)
	SaveTemplate(ctx context.Context, t TemplateSource) error
	SetIdentity(id *pgpmime.Identity)
	NotifyNow(ctx context.Context, now time.Time, events []store.StoredEvent) (NowReport, error)
}

var _ Editor = (*Notifier)(nil)

// SaveTemplate checks t (parsing it and executing it with sample data)
// and stores it as the team's override of the built-in. A template that
// would fail is refused with a *TemplateError that gives the line.
func (n *Notifier) SaveTemplate(ctx context.Context, t TemplateSource) error {
	if err := Check(t); err != nil {
		return err
	}
	if err := n.store.PutNotificationTemplate(ctx, t); err != nil {
		return fmt.Errorf("save template %s/%s: %w", t.Language, t.Name, err)
	}
	return nil
}
