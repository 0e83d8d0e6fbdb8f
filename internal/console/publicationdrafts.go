package console

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/cveimport"
	"github.com/vigil-cert/vigil/internal/store"
)

// The ways a draft begins: the new-publication form (a kind, a label and
// a title), an incident's page ("Draft an advisory"), and the events
// search ("412 exposed RDP services in our constituency"): each fills
// every configured language from the catalogue's templates.

// maxCVEBytes bounds the new-publication form, which may carry a CVE
// record or a CSAF document.
const maxCVEBytes = 4 << 20

// eventDraftBound is how many events, IP addresses and organisations a
// draft from the events search counts at most.
const eventDraftBound = 100_000

func (c *Console) publicationDraftRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /incidents/{tag}/publication", c.member(auth.WritePublications, c.draftFromIncident))
	m.HandleFunc("POST /events/publication", c.member(auth.WritePublications, c.draftFromEvents))
}

// newPublicationPage is the data of the new-publication form.
type newPublicationPage struct {
	Kinds      []publication.Kind
	TLPs       []publication.TLP
	Severities []string
	Lang       string
	Problem    string
}

func (c *Console) newPublicationForm(w http.ResponseWriter, r *http.Request, v *visit) {
	if _, ok := c.publishing(w, r, v); !ok {
		return
	}
	c.showNewPublication(w, r, v, http.StatusOK, "")
}

func (c *Console) showNewPublication(w http.ResponseWriter, r *http.Request, v *visit, status int, problem string) {
	p := newPublicationPage{Kinds: publication.Kinds, TLPs: publication.TLPs, Severities: c.pubSeverities(), Lang: c.pubLanguages()[0], Problem: problem}
	c.render(w, r, v, status, "publication_new", msgTitlePublicationNew, p, "", "")
}

// createPublication creates a draft of the kind, label, severity and
// title chosen, and opens its page.
func (c *Console) createPublication(w http.ResponseWriter, r *http.Request, v *visit) {
	svc, ok := c.publishing(w, r, v)
	if !ok {
		return
	}
	kind := publication.Kind(r.PostFormValue("kind"))
	tlp := publication.TLP(r.PostFormValue("tlp"))
	if file, _, err := r.FormFile("cve"); err == nil {
		defer file.Close()
		if !tlp.Valid() {
			c.showNewPublication(w, r, v, http.StatusUnprocessableEntity, c.tr(v, "publications.error.tlp", string(tlp)))
			return
		}
		c.draftFromFile(w, r, v, svc, kind, tlp, file)
		return
	}
	p := publication.Publication{Kind: kind, Content: publication.Content{
		TLP: tlp, Severity: r.PostFormValue("severity"),
	}}
	title := strings.TrimSpace(r.PostFormValue("title"))
	switch {
	case !kind.Valid():
		c.showNewPublication(w, r, v, http.StatusUnprocessableEntity, c.tr(v, "publications.error.kind", string(kind)))
		return
	case !p.TLP.Valid():
		c.showNewPublication(w, r, v, http.StatusUnprocessableEntity, c.tr(v, "publications.error.tlp", string(p.TLP)))
		return
	case !slices.Contains(c.pubSeverities(), p.Severity):
		c.showNewPublication(w, r, v, http.StatusUnprocessableEntity, c.tr(v, "publications.error.severity", p.Severity))
		return
	case title == "":
		c.showNewPublication(w, r, v, http.StatusUnprocessableEntity, c.tr(v, "publications.error.title"))
		return
	}
	p.Texts = []publication.Text{{Lang: c.pubLanguages()[0], Title: title, Updated: c.now().UTC()}}
	c.finishDraft(w, r, v, svc, p)
}

// draftFromCVE drafts a publication of kind (an advisory unless another
// is chosen) at the label chosen, from an uploaded CVE JSON 5 record, in
// every configured language the record has text in; a malformed record
// is refused with the field that is wrong.
func (c *Console) draftFromCVE(w http.ResponseWriter, r *http.Request, v *visit, svc *publication.Service, kind publication.Kind, tlp publication.TLP, file io.Reader) {
	rec, err := cveimport.ReadRecord(file)
	if text := c.pubInputText(v, err); text != "" {
		c.showNewPublication(w, r, v, http.StatusUnprocessableEntity, c.tr(v, "publications.error.cve.record", text))
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if !kind.Valid() {
		kind = publication.KindAdvisory
	}
	content := rec.Draft(c.pubLanguages())
	content.TLP = tlp
	if content.Severity == "" || !slices.Contains(c.pubSeverities(), content.Severity) {
		content.Severity = c.defaultSeverity()
	}
	c.finishDraft(w, r, v, svc, publication.Publication{Kind: kind, Source: "cve:" + rec.ID, Content: content})
}

// finishDraft creates p and opens its page.
func (c *Console) finishDraft(w http.ResponseWriter, r *http.Request, v *visit, svc *publication.Service, p publication.Publication) {
	created, err := c.createDraft(r, v, svc, p)
	if text := c.pubInputText(v, err); text != "" {
		c.showNewPublication(w, r, v, http.StatusUnprocessableEntity, text)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	redirectDone(w, r, "/publications/"+strconv.FormatInt(created.ID, 10), "publication-created")
}

// draftFromIncident drafts a warning (or, when asked, an advisory) from
// an incident: its title, label and the counts of its observables, in
// every configured language.
func (c *Console) draftFromIncident(w http.ResponseWriter, r *http.Request, v *visit) {
	svc, ok := c.publishing(w, r, v)
	if !ok {
		return
	}
	if !v.can(auth.ReadIncidents) {
		c.forbidden(w, r, v)
		return
	}
	inc, ok := c.pathIncident(w, r, v)
	if !ok {
		return
	}
	kind := publication.KindWarning
	if r.PostFormValue("kind") == string(publication.KindAdvisory) {
		kind = publication.KindAdvisory
	}
	p := publication.Publication{Kind: kind, Source: "incident:" + inc.Tag.String(), Content: publication.Content{
		TLP: publication.TLP(inc.TLP),
	}}
	if !p.TLP.Valid() {
		p.TLP = publication.TLPAmber
	}
	p.Severity = c.defaultSeverity()
	if sev := string(inc.Severity); slices.Contains(c.pubSeverities(), sev) {
		p.Severity = sev
	}
	counts := observableCounts(inc)
	now := c.now().UTC()
	for _, lang := range c.pubLanguages() {
		p.Texts = append(p.Texts, publication.Text{
			Lang: lang, Title: inc.Title, Updated: now,
			Summary: c.catalog.T(lang, "publications.draft.incident.summary", inc.Tag.String()),
			Body:    c.catalog.T(lang, "publications.draft.incident.body", inc.Tag.String(), c.observableText(lang, counts)),
		})
	}
	c.finishDraft(w, r, v, svc, p)
}

// kindCount is how many observables of a kind an incident holds.
type kindCount struct {
	Kind  string
	Count int
}

func observableCounts(inc incident.Incident) []kindCount {
	var out []kindCount
	for _, o := range inc.Observables {
		i := slices.IndexFunc(out, func(k kindCount) bool { return k.Kind == string(o.Kind) })
		if i < 0 {
			out = append(out, kindCount{Kind: string(o.Kind)})
			i = len(out) - 1
		}
		out[i].Count++
	}
	return out
}

// observableText writes the counts ("3 ip, 1 url") in lang.
func (c *Console) observableText(lang string, counts []kindCount) string {
	if len(counts) == 0 {
		return c.catalog.T(lang, "publications.draft.incident.none")
	}
	parts := make([]string, len(counts))
	for i, k := range counts {
		parts[i] = c.catalog.Number(lang, k.Count) + " " + k.Kind
	}
	return strings.Join(parts, ", ")
}

// eventFigures are what a draft from the events search says.
type eventFigures struct {
	Events, IPs, Organisations int
	Type                       string
	From, To                   string
}

// draftFromEvents drafts a warning from the events search's query: how
// many events, from how many IP addresses and organisations, of which
// classification type, over which dates.
func (c *Console) draftFromEvents(w http.ResponseWriter, r *http.Request, v *visit) {
	svc, ok := c.publishing(w, r, v)
	if !ok {
		return
	}
	if !v.can(auth.ReadEvents) {
		c.forbidden(w, r, v)
		return
	}
	q, _, problems := parseSearch(withoutCSRF(r.PostForm))
	if len(problems) > 0 {
		c.problem(w, r, v, http.StatusBadRequest, msgErrorHeading, msgSearchInvalid)
		return
	}
	fig, err := c.eventFigures(r, q)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	// The search, without the form's CSRF token.
	source := "events:" + withoutCSRF(r.PostForm).Encode()
	if len(source) > publication.MaxShortField {
		source = source[:publication.MaxShortField]
	}
	p := publication.Publication{Kind: publication.KindWarning, Source: source, Content: publication.Content{TLP: publication.TLPAmber, Severity: c.defaultSeverity()}}
	now := c.now().UTC()
	for _, lang := range c.pubLanguages() {
		n := c.catalog.Number(lang, fig.Events)
		p.Texts = append(p.Texts, publication.Text{
			Lang: lang, Updated: now,
			Title: c.catalog.Plural(lang, "publications.draft.events.title", fig.Events, fig.Type),
			Summary: c.catalog.T(lang, "publications.draft.events.summary", n, fig.Type,
				c.catalog.Number(lang, fig.IPs), c.catalog.Number(lang, fig.Organisations), fig.From, fig.To),
		})
	}
	c.finishDraft(w, r, v, svc, p)
}

// eventFigures counts the query's events, distinct IP addresses and
// organisations, finds its most frequent classification type and the
// dates of its oldest and newest event.
func (c *Console) eventFigures(r *http.Request, q store.EventQuery) (eventFigures, error) {
	ctx := r.Context()
	var fig eventFigures
	var err error
	if fig.Events, err = c.store.CountMatches(ctx, q, eventDraftBound); err != nil {
		return fig, fmt.Errorf("count events: %w", err)
	}
	ips, err := c.store.GroupEvents(ctx, q, store.GroupSourceIP, eventDraftBound)
	if err != nil {
		return fig, fmt.Errorf("group by ip: %w", err)
	}
	orgs, err := c.store.GroupEvents(ctx, q, store.GroupOrganisation, eventDraftBound)
	if err != nil {
		return fig, fmt.Errorf("group by organisation: %w", err)
	}
	fig.IPs = len(ips)
	for _, o := range orgs {
		if o.Value != "" {
			fig.Organisations++
		}
	}
	fig.Type = q.Type
	if fig.Type == "" {
		types, err := c.store.GroupEvents(ctx, q, store.GroupType, 1)
		if err != nil {
			return fig, fmt.Errorf("group by type: %w", err)
		}
		if len(types) > 0 {
			fig.Type = types[0].Value
		}
	}
	for _, ascending := range []bool{true, false} {
		one := q
		one.Limit, one.Ascending = 1, ascending
		page, err := c.store.SearchEvents(ctx, one)
		if err != nil {
			return fig, fmt.Errorf("search events: %w", err)
		}
		if len(page.Events) == 0 || page.Events[0].Event == nil {
			continue
		}
		tm, ok := page.Events[0].Event.Time("time.source")
		if !ok {
			continue
		}
		day := tm.UTC().Format("2006-01-02")
		if ascending {
			fig.From = day
		} else {
			fig.To = day
		}
	}
	return fig, nil
}

// withoutCSRF is a posted form without its CSRF token, for what reads the
// rest as a search.
func withoutCSRF(f url.Values) url.Values {
	out := maps.Clone(f)
	delete(out, "csrf")
	return out
}
