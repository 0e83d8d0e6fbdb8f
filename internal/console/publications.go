package console

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store"
)

// The team's publication pages: the list with its filters and counts,
// the new-publication form and each publication's page (publicationpage.go)
// with its editor (publicationform.go) and workflow buttons. Every change
// goes through publication.Service, which enforces the workflow and the
// four-eyes rule; the pages only hide the buttons that would be refused.

// PublicationPages configures the publication pages.
type PublicationPages struct {
	// Service writes every change, with its rules (the languages and
	// the severity scale); nil serves no publication pages.
	Service *publication.Service
	// Digests, when set, makes the newsletter's digest on request
	// (publicationdigest.go).
	Digests DigestMaker
}

// The page titles and messages of the publication pages.
const (
	msgTitlePublications   = "title.publications"
	msgTitlePublicationNew = "title.publications.new"
	msgTitlePublication    = "title.publications.publication"
	msgPublicationBadInput = "publications.error.input"
)

// publicationFlashes are the notices the publication pages' redirects
// name.
var publicationFlashes = map[string]string{
	"publication-created":   "done.publications.created",
	"publication-saved":     "done.publications.saved",
	"publication-submit":    "done.publications.submit",
	"publication-reject":    "done.publications.reject",
	"publication-approve":   "done.publications.approve",
	"publication-schedule":  "done.publications.schedule",
	"publication-publish":   "done.publications.publish",
	"publication-withdraw":  "done.publications.withdraw",
	"publication-row-added": "done.publications.row",
}

func init() { maps.Copy(flashes, publicationFlashes) }

// publicationRoutes adds the publication pages.
func (c *Console) publicationRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /publications", c.member(auth.ReadPublications, c.publicationList))
	m.HandleFunc("GET /publications/new", c.member(auth.WritePublications, c.newPublicationForm))
	m.HandleFunc("POST /publications/new", c.memberUpTo(auth.WritePublications, maxCVEBytes, c.createPublication))
	m.HandleFunc("GET /publications/{id}", c.member(auth.ReadPublications, c.publicationPage))
	m.HandleFunc("POST /publications/{id}", c.member(auth.WritePublications, c.savePublication))
	m.HandleFunc("POST /publications/{id}/submit", c.member(auth.WritePublications, c.publicationAction(publication.ActionSubmit)))
	m.HandleFunc("POST /publications/{id}/reject", c.member(auth.ApprovePublications, c.publicationAction(publication.ActionReject)))
	m.HandleFunc("POST /publications/{id}/approve", c.member(auth.ApprovePublications, c.publicationAction(publication.ActionApprove)))
	m.HandleFunc("POST /publications/{id}/schedule", c.member(auth.ApprovePublications, c.publicationAction(publication.ActionSchedule)))
	m.HandleFunc("POST /publications/{id}/publish", c.member(auth.ApprovePublications, c.publicationAction(publication.ActionPublish)))
	m.HandleFunc("POST /publications/{id}/withdraw", c.member(auth.ApprovePublications, c.publicationAction(publication.ActionWithdraw)))
	c.publicationDraftRoutes(m)
	c.publicationDigestRoutes(m)
}

// publishing returns the publication service, or answers 404 itself when
// this console has none.
func (c *Console) publishing(w http.ResponseWriter, r *http.Request, v *visit) (*publication.Service, bool) {
	if c.publications.Service == nil {
		c.notFound(w, r, v)
		return nil, false
	}
	return c.publications.Service, true
}

// pubRules are the configured languages (the primary first) and
// severity scale of publications.
func (c *Console) pubRules() publication.Rules {
	if c.publications.Service == nil {
		return (&publication.Service{}).RulesOrDefault()
	}
	return c.publications.Service.RulesOrDefault()
}

func (c *Console) pubLanguages() []string  { return c.pubRules().Languages }
func (c *Console) pubSeverities() []string { return c.pubRules().Severities }

// defaultSeverity is the severity of a draft Vigil writes
// (Rules.DefaultSeverity).
func (c *Console) defaultSeverity() string { return c.pubRules().DefaultSeverity() }

// publicationListSize is how many publications a page of the list shows.
const publicationListSize = 50

// publicationsPage is the data of the list.
type publicationsPage struct {
	Kind, Status, Severity, TLP, Text string
	Rows                              []publicationRow
	Total                             int
	// Counts are how many publications are in each status (with the
	// other filters), in workflow order.
	Counts     []statusCount
	Kinds      []publication.Kind
	Statuses   []publication.Status
	Severities []string
	TLPs       []publication.TLP
	// Prev and Next are the addresses of the neighbouring pages, "" at
	// an end.
	Prev, Next string
	From, To   int
	CanWrite   bool
	CanDigest  bool
}

// statusCount is one status and how many publications are in it.
type statusCount struct {
	Status publication.Status
	Count  int
	URL    string
}

// publicationRow is a line of the list.
type publicationRow struct {
	publication.Publication
	Title string
	// Outdated lists the translations to flag.
	Outdated []string
}

func (c *Console) publicationList(w http.ResponseWriter, r *http.Request, v *visit) {
	svc, ok := c.publishing(w, r, v)
	if !ok {
		return
	}
	ctx := r.Context()
	qv := r.URL.Query()
	p := publicationsPage{
		Kind: qv.Get("kind"), Status: qv.Get("status"), Severity: qv.Get("severity"), TLP: qv.Get("tlp"),
		Text:  strings.TrimSpace(qv.Get("q")),
		Kinds: publication.Kinds, Statuses: publication.Statuses, Severities: c.pubSeverities(), TLPs: publication.TLPs,
		CanWrite: v.can(auth.WritePublications), CanDigest: c.canMakeDigest(v),
	}
	q := publication.Query{Kind: publication.Kind(p.Kind), Severity: p.Severity, Text: p.Text, Limit: publicationListSize}
	if !q.Kind.Valid() {
		q.Kind, p.Kind = "", ""
	}
	q.Offset, _ = strconv.Atoi(qv.Get("offset"))
	q.Offset = max(q.Offset, 0)
	for _, s := range publication.Statuses {
		cq := q
		cq.Status, cq.Limit, cq.Offset = s, 1, 0
		page, err := svc.Store.ListPublications(ctx, cq)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		p.Counts = append(p.Counts, statusCount{Status: s, Count: page.Total, URL: "/publications?" + keepPub(qv, "status", string(s)).Encode()})
	}
	if s := publication.Status(p.Status); s.Valid() {
		q.Status = s
	} else {
		p.Status = ""
	}
	page, err := svc.Store.ListPublications(ctx, q)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	// The store filters by the highest label; the list shows one label.
	tlp := publication.TLP(p.TLP)
	if !tlp.Valid() {
		p.TLP = ""
	}
	for _, pub := range page.Publications {
		if p.TLP != "" && pub.TLP != tlp {
			continue
		}
		text, _ := pub.Text(v.lang)
		p.Rows = append(p.Rows, publicationRow{Publication: pub, Title: text.Title, Outdated: pub.Outdated(c.pubLanguages())})
	}
	p.Total = page.Total
	p.From, p.To = q.Offset+1, q.Offset+len(page.Publications)
	if q.Offset > 0 {
		p.Prev = "/publications?" + keepPub(qv, "offset", strconv.Itoa(max(q.Offset-publicationListSize, 0))).Encode()
	}
	if q.Offset+len(page.Publications) < page.Total {
		p.Next = "/publications?" + keepPub(qv, "offset", strconv.Itoa(q.Offset+publicationListSize)).Encode()
	}
	c.render(w, r, v, http.StatusOK, "publications", msgTitlePublications, p, flashOf(r), "")
}

// keepPub returns the list's query with key set to value (and the page
// reset when a filter changes).
func keepPub(qv url.Values, key, value string) url.Values {
	out := url.Values{}
	for _, k := range []string{"kind", "status", "severity", "tlp", "q", "offset"} {
		if v := qv.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	if key != "offset" {
		out.Del("offset")
	}
	out.Set(key, value)
	return out
}

// pathPublication loads the publication of the {id} in the path; it
// answers the request itself when it returns false.
func (c *Console) pathPublication(w http.ResponseWriter, r *http.Request, v *visit) (*publication.Service, publication.Publication, bool) {
	svc, ok := c.publishing(w, r, v)
	if !ok {
		return nil, publication.Publication{}, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.notFound(w, r, v)
		return nil, publication.Publication{}, false
	}
	p, err := svc.Store.GetPublication(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return nil, p, false
	}
	if err != nil {
		c.fail(w, r, v, err)
		return nil, p, false
	}
	return svc, p, true
}

// pubInputText returns a refusal's text in the visitor's language, ""
// when err is not a refusal of input.
func (c *Console) pubInputText(v *visit, err error) string {
	var ie *publication.InputError
	if errors.As(err, &ie) {
		return ie.Message.In(c.catalog, v.lang)
	}
	return ""
}
