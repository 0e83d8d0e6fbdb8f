package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// The publications: advisories, warnings, news and digests. Reading needs
// no token: without one only what is public (publication.Public) is
// listed; with one, the team's roles that read publications see them
// all, drafts included, and a constituent sees the published ones up to
// TLP:GREEN. Writing is the team's, through publication.Service, which
// enforces the workflow and the four-eyes rule.

// publicationWriters may create and edit drafts and send them to review;
// the approving actions also need auth.ApprovePublications.
var publicationWriters = allowed(auth.WritePublications)

// publicationListParams are the list's query parameters.
var publicationListParams = []string{"kind", "status", "severity", "q", "limit", "offset"}

// publicationJSON is a publication as the API gives it.
type publicationJSON struct {
	ID        int64          `json:"id"`
	Ident     string         `json:"ident"`
	Kind      string         `json:"kind"`
	Status    string         `json:"status"`
	Revision  int            `json:"revision"`
	Author    string         `json:"author,omitempty"`
	Editor    string         `json:"editor,omitempty"`
	Approver  string         `json:"approver,omitempty"`
	Source    string         `json:"source,omitempty"`
	Created   time.Time      `json:"created"`
	Updated   time.Time      `json:"updated"`
	Scheduled *time.Time     `json:"scheduled,omitempty"`
	Published *time.Time     `json:"published,omitempty"`
	Withdrawn *time.Time     `json:"withdrawn,omitempty"`
	Content   contentJSON    `json:"content"`
	Next      *nextJSON      `json:"next,omitempty"`
	Outdated  []string       `json:"outdated_languages,omitempty"`
	Revisions []revisionJSON `json:"revisions,omitempty"`
	Channels  []deliveryJSON `json:"channels,omitempty"`
	History   []changeJSON   `json:"history,omitempty"`
}

// contentJSON is what readers see of one revision; it is also the body
// of POST /publications and PATCH /publications/{ident}.
type contentJSON struct {
	Severity    string                  `json:"severity,omitempty"`
	TLP         string                  `json:"tlp"`
	Texts       []textJSON              `json:"texts"`
	CVEs        []string                `json:"cves,omitempty"`
	CWEs        []string                `json:"cwes,omitempty"`
	CVSS        []publication.CVSS      `json:"cvss,omitempty"`
	Products    []publication.Product   `json:"products,omitempty"`
	References  []publication.Reference `json:"references,omitempty"`
	Tags        []string                `json:"tags,omitempty"`
	PinnedUntil *time.Time              `json:"pinned_until,omitempty"`
}

type textJSON struct {
	Lang            string                       `json:"lang"`
	Title           string                       `json:"title"`
	Summary         string                       `json:"summary,omitempty"`
	Body            string                       `json:"body,omitempty"`
	Recommendations []publication.Recommendation `json:"recommendations,omitempty"`
	Updated         time.Time                    `json:"updated"`
}

type nextJSON struct {
	Status  string      `json:"status"`
	Note    string      `json:"note,omitempty"`
	Editor  string      `json:"editor,omitempty"`
	Content contentJSON `json:"content"`
}

type revisionJSON struct {
	Number    int       `json:"number"`
	Published time.Time `json:"published"`
	Note      string    `json:"note,omitempty"`
	By        string    `json:"by,omitempty"`
}

type deliveryJSON struct {
	Channel   string `json:"channel"`
	Lang      string `json:"lang,omitempty"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
	Reply     string `json:"reply,omitempty"`
}

type changeJSON struct {
	At     time.Time `json:"at"`
	User   string    `json:"user"`
	Action string    `json:"action"`
	Note   string    `json:"note,omitempty"`
}

func toContentJSON(c publication.Content) contentJSON {
	out := contentJSON{Severity: c.Severity, TLP: string(c.TLP), CVEs: c.CVEs, CWEs: c.CWEs, CVSS: c.CVSS,
		Products: c.Products, References: c.References, Tags: c.Tags, PinnedUntil: optionalTime(c.PinnedUntil), Texts: []textJSON{}}
	for _, t := range c.Texts {
		out.Texts = append(out.Texts, textJSON{Lang: t.Lang, Title: t.Title, Summary: t.Summary, Body: t.Body, Recommendations: t.Recommendations, Updated: t.Updated})
	}
	return out
}

func (c contentJSON) content() publication.Content {
	out := publication.Content{Severity: strings.ToLower(c.Severity), TLP: publication.TLP(strings.ToUpper(c.TLP)), CVEs: c.CVEs, CWEs: c.CWEs,
		CVSS: c.CVSS, Products: c.Products, References: c.References, Tags: c.Tags}
	if c.PinnedUntil != nil {
		out.PinnedUntil = c.PinnedUntil.UTC()
	}
	for _, t := range c.Texts {
		out.Texts = append(out.Texts, publication.Text{Lang: t.Lang, Title: t.Title, Summary: t.Summary, Body: t.Body, Recommendations: t.Recommendations, Updated: t.Updated})
	}
	return out
}

// toPublicationJSON is p for a reader; team is true for the team's roles,
// who also see the next revision and the authors' names.
func toPublicationJSON(p publication.Publication, team bool) publicationJSON {
	out := publicationJSON{ID: p.ID, Ident: p.Ident, Kind: string(p.Kind), Status: string(p.Status), Revision: p.Revision,
		Created: p.Created, Updated: p.Updated, Scheduled: optionalTime(p.Scheduled), Published: optionalTime(p.Published),
		Withdrawn: optionalTime(p.Withdrawn), Content: toContentJSON(p.Content)}
	if team {
		out.Author, out.Editor, out.Approver, out.Source = p.Author, p.Editor, p.Approver, p.Source
		if p.Next != nil {
			out.Next = &nextJSON{Status: string(p.Next.Status), Note: p.Next.Note, Editor: p.Next.Editor, Content: toContentJSON(p.Next.Content)}
		}
		out.Outdated = p.Outdated(nil)
	}
	return out
}

// publicationReader is who reads: the team (everything), a constituent
// (published, up to GREEN) or anybody (public only).
type publicationReader int

const (
	readerPublic publicationReader = iota
	readerConstituent
	readerTeam
)

// readerOf authenticates the request when it carries a token; a token
// that is wrong is refused rather than read as none.
func (h *handler) readerOf(r *http.Request) (publicationReader, *caller, error) {
	if r.Header.Get("Authorization") == "" {
		return readerPublic, nil, nil
	}
	c, err := h.authenticate(r)
	if err != nil {
		return readerPublic, nil, err
	}
	if auth.Can(c.user.Role, auth.ReadPublications) {
		return readerTeam, c, nil
	}
	if c.user.Role == auth.RoleConstituent {
		return readerConstituent, c, nil
	}
	return readerPublic, c, nil
}

// visible reports whether reader may see p.
func (rd publicationReader) visible(p *publication.Publication) bool {
	switch rd {
	case readerTeam:
		return true
	case readerConstituent:
		return p.Status == publication.StatusPublished && p.TLP.Valid() && p.TLP.Rank() <= publication.TLPGreen.Rank()
	}
	return p.Public()
}

// errNoPublications answers when this process has no publication service.
var errNoPublications = errorText(http.StatusNotImplemented, "not_implemented", "", i18n.M("api.error.publications.none"))

func (h *handler) listPublications(r *http.Request, _ *caller) (any, error) {
	if h.publications == nil {
		return nil, errNoPublications
	}
	values := r.URL.Query()
	if err := checkParams(values, publicationListParams); err != nil {
		return nil, err
	}
	reader, _, err := h.readerOf(r)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(values, "limit", 50, 1000)
	if err != nil {
		return nil, err
	}
	// offset=0 is the first page, as no offset is.
	var offset int64
	if values.Get("offset") != "0" {
		if offset, err = intParam(values, "offset", 0, 1<<31); err != nil {
			return nil, err
		}
	}
	q := publication.Query{Kind: publication.Kind(values.Get("kind")), Severity: values.Get("severity"),
		Text: values.Get("q"), Limit: int(limit), Offset: int(offset)}
	if q.Kind != "" && !q.Kind.Valid() {
		return nil, badParameterText("kind", i18n.M("publications.error.kind", string(q.Kind)))
	}
	if s := values.Get("status"); s != "" {
		if q.Status = publication.Status(s); !q.Status.Valid() {
			return nil, badParameterText("status", i18n.M("api.error.publications.status", s))
		}
	}
	switch reader {
	case readerPublic:
		q.Public = true
	case readerConstituent:
		if q.Status != "" && q.Status != publication.StatusPublished {
			return map[string]any{"publications": []publicationJSON{}, "total": 0}, nil
		}
		q.Status, q.MaxTLP = publication.StatusPublished, publication.TLPGreen
	}
	page, err := h.publications.Store.ListPublications(r.Context(), q)
	if err != nil {
		return nil, err
	}
	out := []publicationJSON{}
	items := h.digestItems(r.Context(), reader)
	for _, p := range page.Publications {
		// The store's filter and this rule say the same; asking both
		// keeps a mistake in one from leaking a label.
		if reader.visible(&p) {
			out = append(out, toPublicationJSON(items.redact(p), reader == readerTeam))
		}
	}
	return map[string]any{"publications": out, "total": page.Total}, nil
}

// pathPublication reads the publication the path names by its ident
// (VIGIL-2026-0042) or its number.
func (h *handler) pathPublication(r *http.Request) (publication.Publication, error) {
	ident := r.PathValue("ident")
	if id, err := strconv.ParseInt(ident, 10, 64); err == nil && id > 0 {
		return h.publications.Store.GetPublication(r.Context(), id)
	}
	return h.publications.Store.GetPublicationByIdent(r.Context(), ident)
}

func (h *handler) getPublication(r *http.Request, _ *caller) (any, error) {
	if h.publications == nil {
		return nil, errNoPublications
	}
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	reader, c, err := h.readerOf(r)
	if err != nil {
		return nil, err
	}
	p, err := h.pathPublication(r)
	if err == nil && !reader.visible(&p) {
		// Not "forbidden": whether it exists is not the reader's to know.
		err = errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.notfound"))
	}
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	out := toPublicationJSON(h.digestItems(ctx, reader).redact(p), reader == readerTeam)
	revisions, err := h.publications.Store.Revisions(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	for _, rv := range revisions {
		if reader == readerTeam {
			out.Revisions = append(out.Revisions, revisionJSON{Number: rv.Number, Published: rv.Published, Note: rv.Note, By: rv.By})
			continue
		}
		// Others see what the public history shows: no approver, and
		// no note of a revision that was not public.
		out.Revisions = append(out.Revisions, revisionJSON{Number: rv.Number, Published: rv.Published, Note: rv.PublicNote()})
	}
	if reader != readerTeam {
		return out, nil
	}
	deliveries, err := h.publications.Store.ListDeliveries(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	// Why a delivery failed or was skipped is kept as a message: the
	// caller reads it in their language.
	lang := h.language(r, c)
	cat, err := catalogue()
	if err != nil {
		return nil, err
	}
	for _, d := range deliveries {
		out.Channels = append(out.Channels, deliveryJSON{Channel: d.Channel, Lang: d.Lang, Status: d.Status, Attempts: d.Attempts,
			LastError: cat.Stored(lang, d.LastError), Reply: cat.Stored(lang, d.Reply)})
	}
	history, err := h.publications.Store.History(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range history {
		out.History = append(out.History, changeJSON{At: c.At, User: c.User, Action: c.Action, Note: c.Note})
	}
	return out, nil
}

// createPublicationBody is the body of POST /publications.
type createPublicationBody struct {
	Kind string `json:"kind"`
	contentJSON
}

func (h *handler) createPublication(r *http.Request, c *caller) (any, error) {
	if h.publications == nil {
		return nil, errNoPublications
	}
	var body createPublicationBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	kind := publication.Kind(body.Kind)
	if !kind.Valid() {
		return nil, badParameterText("kind", i18n.M("publications.error.kind", body.Kind))
	}
	created, err := h.publications.Create(r.Context(), pubActorOf(c), kind, body.content(), "")
	if err != nil {
		return nil, publicationError(err)
	}
	return created201(created), nil
}

func created201(p publication.Publication) created {
	return created{location: "/api/v1/publications/" + p.Ident, value: toPublicationJSON(p, true)}
}

// patchPublicationBody is the body of PATCH: the fields to change (the
// others keep their values) and, for a published publication, the change
// note of its next revision.
type patchPublicationBody struct {
	contentJSON
	Note string `json:"note"`
}

func (h *handler) updatePublication(r *http.Request, c *caller) (any, error) {
	if h.publications == nil {
		return nil, errNoPublications
	}
	p, err := h.pathPublication(r)
	if err != nil {
		return nil, err
	}
	base := p.Content
	if p.Next != nil {
		base = p.Next.Content
	}
	body := patchPublicationBody{contentJSON: toContentJSON(base)}
	if p.Next != nil {
		body.Note = p.Next.Note
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	updated, err := h.publications.Edit(r.Context(), pubActorOf(c), p.ID, body.content(), strings.TrimSpace(body.Note))
	if err != nil {
		return nil, publicationError(err)
	}
	return toPublicationJSON(updated, true), nil
}

// actionBody is the body of a workflow action: the reason of reject and
// withdraw, the time of schedule.
type actionBody struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

func (h *handler) publicationAction(r *http.Request, c *caller) (any, error) {
	if h.publications == nil {
		return nil, errNoPublications
	}
	action := r.PathValue("action")
	switch action {
	case publication.ActionSubmit:
	case publication.ActionReject, publication.ActionApprove, publication.ActionSchedule, publication.ActionPublish, publication.ActionWithdraw:
		if !auth.Can(c.user.Role, auth.ApprovePublications) {
			return nil, errorText(http.StatusForbidden, "forbidden", "", i18n.M("api.error.forbidden", string(c.user.Role), r.Method+" "+r.URL.Path))
		}
	default:
		return nil, errorText(http.StatusNotFound, "not_found", "action", i18n.M("api.error.publications.action", action))
	}
	p, err := h.pathPublication(r)
	if err != nil {
		return nil, err
	}
	var body actionBody
	if r.ContentLength != 0 {
		if err := decodeBody(r, &body); err != nil {
			return nil, err
		}
	}
	ctx, a := r.Context(), pubActorOf(c)
	svc := h.publications
	var out publication.Publication
	switch action {
	case publication.ActionSubmit:
		out, err = svc.Submit(ctx, a, p.ID)
	case publication.ActionReject:
		out, err = svc.Reject(ctx, a, p.ID, strings.TrimSpace(body.Reason))
	case publication.ActionApprove:
		out, err = svc.Approve(ctx, a, p.ID)
	case publication.ActionSchedule:
		out, err = svc.Schedule(ctx, a, p.ID, body.At.UTC())
	case publication.ActionPublish:
		out, err = svc.Publish(ctx, a, p.ID)
	case publication.ActionWithdraw:
		out, err = svc.Withdraw(ctx, a, p.ID, strings.TrimSpace(body.Reason))
	}
	if err != nil {
		return nil, publicationError(err)
	}
	return toPublicationJSON(out, true), nil
}

func pubActorOf(c *caller) publication.Actor {
	return publication.Actor{UserID: c.user.ID, Name: c.user.Name}
}

// publicationError turns the publication rules' refusals into 400s that
// name the field, in the caller's language.
func publicationError(err error) error {
	var ie *publication.InputError
	if errors.As(err, &ie) {
		return errorText(http.StatusBadRequest, "bad_input", ie.Field, ie.Message)
	}
	return err
}
