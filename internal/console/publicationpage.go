package console

import (
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/markdown"
)

// A publication's page: its fields and languages in the editor, the
// preview, the workflow buttons that apply to the visitor, the history,
// the public revisions and the per-channel deliveries. A published
// publication's edits go to its next revision (publication.Next) while
// the current one stays online.

// publicationView is the data of a publication's page.
type publicationView struct {
	Pub publication.Publication
	// Editing is the content the editor shows: the next revision's of a
	// published publication that has one, else the publication's.
	Editing publication.Content
	// Status is where what is edited stands in the workflow.
	Status publication.Status
	// Updating is true when the editor writes the next revision of a
	// published publication (a change note is asked).
	Updating bool
	Note     string

	Columns    []langColumn
	Products   []productRow
	Rows       int
	CVEs       string
	CWEs       string
	CVSS       string
	Tags       string
	References string
	Pinned     string
	Severities []string
	TLPs       []publication.TLP
	Outdated   []string

	History    []publication.Change
	Revisions  []publication.Revision
	Deliveries []publication.Delivery

	CanWrite bool
	// FourEyes is set when the visitor may approve publications but not
	// this one: they wrote it or edited it last.
	FourEyes bool
	Actions  map[string]bool
	// ScheduleAt is the schedule form's default, an hour from now.
	ScheduleAt string
	Problem    string
}

// langColumn is one language's column of the editor.
type langColumn struct {
	Lang    string
	Text    publication.Text
	Missing bool
	// Outdated: older than the primary language's version.
	Outdated bool
	Recs     []recField
	// Preview is the body rendered as readers get it, sanitized.
	Preview template.HTML
}

// recField is one kind of recommendation, one a line.
type recField struct {
	Kind, Text string
}

// productRow is one row of the affected products, as the editor shows
// it.
type productRow struct {
	Vendor, Name, CPE, PURL, Versions string
}

// editable returns the content the editor works on, its status and
// whether it is a published publication's next revision.
func editable(p *publication.Publication) (publication.Content, publication.Status, bool) {
	if p.Next != nil {
		return p.Next.Content, p.Next.Status, true
	}
	return p.Content, p.Status, p.Status == publication.StatusPublished
}

func (c *Console) publicationPage(w http.ResponseWriter, r *http.Request, v *visit) {
	svc, p, ok := c.pathPublication(w, r, v)
	if !ok {
		return
	}
	content, _, _ := editable(&p)
	rows, _ := strconv.Atoi(r.URL.Query().Get("rows"))
	c.showPublication(w, r, v, svc, p, content, rows, http.StatusOK, flashOf(r), "")
}

// showPublication renders the page with content in the editor (what was
// posted, when a save was refused), extra blank product rows and a
// problem's text.
func (c *Console) showPublication(w http.ResponseWriter, r *http.Request, v *visit, svc *publication.Service, p publication.Publication, content publication.Content, rows, status int, flash, problem string) {
	ctx := r.Context()
	_, st, updating := editable(&p)
	d := publicationView{
		Pub: p, Editing: content, Status: st, Updating: updating,
		Severities: c.pubSeverities(), TLPs: publication.TLPs,
		CVEs: strings.Join(content.CVEs, ", "), CWEs: strings.Join(content.CWEs, ", "), Tags: strings.Join(content.Tags, ", "),
		Outdated: content.Outdated(c.pubLanguages()),
		CanWrite: v.can(auth.WritePublications) && st != publication.StatusWithdrawn,
		Problem:  problem, Rows: min(max(rows, 1), 20),
		ScheduleAt: c.now().UTC().Add(time.Hour).Format(pinLayout),
	}
	if p.Next != nil {
		d.Note = p.Next.Note
	}
	var vectors, refs []string
	for _, s := range content.CVSS {
		vectors = append(vectors, s.Vector)
	}
	for _, ref := range content.References {
		refs = append(refs, strings.TrimSpace(ref.URL+" "+ref.Title))
	}
	d.CVSS, d.References = strings.Join(vectors, "\n"), strings.Join(refs, "\n")
	if !content.PinnedUntil.IsZero() {
		d.Pinned = content.PinnedUntil.UTC().Format(pinLayout)
	}
	for _, prod := range content.Products {
		d.Products = append(d.Products, productRow{Vendor: prod.Vendor, Name: prod.Product, CPE: prod.CPE, PURL: prod.PURL, Versions: formatVersions(prod.Versions)})
	}
	for range d.Rows {
		d.Products = append(d.Products, productRow{})
	}
	d.Columns = c.langColumns(content)
	d.Actions, d.FourEyes = c.pubActions(v, &p, st)
	var err error
	if d.History, err = svc.Store.History(ctx, p.ID); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if d.Revisions, err = svc.Store.Revisions(ctx, p.ID); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if d.Deliveries, err = svc.Store.ListDeliveries(ctx, p.ID); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, v, status, "publication", msgTitlePublication, d, flash, "")
}

// langColumns are the editor's columns: each configured language, then
// any other language the publication is written in.
func (c *Console) langColumns(content publication.Content) []langColumn {
	langs := slices.Clone(c.pubLanguages())
	for _, l := range content.Languages() {
		if !slices.Contains(langs, l) {
			langs = append(langs, l)
		}
	}
	outdated := content.Outdated(nil)
	var out []langColumn
	for _, lang := range langs {
		t, ok := content.Text(lang)
		col := langColumn{Lang: lang, Missing: !ok, Outdated: slices.Contains(outdated, lang)}
		if !ok {
			t = publication.Text{Lang: lang}
		}
		col.Text = t
		col.Preview = markdown.Render(t.Body)
		for _, kind := range publication.RecommendationKinds {
			col.Recs = append(col.Recs, recField{Kind: kind, Text: recommendationsOf(t, kind)})
		}
		out = append(out, col)
	}
	return out
}

// pubActions are the workflow buttons the visitor may use on p, whose
// edited content is at status st, and whether the four-eyes rule hides
// the approval from them.
func (c *Console) pubActions(v *visit, p *publication.Publication, st publication.Status) (map[string]bool, bool) {
	out := map[string]bool{}
	for _, a := range []string{publication.ActionSubmit, publication.ActionReject, publication.ActionApprove,
		publication.ActionSchedule, publication.ActionPublish, publication.ActionWithdraw} {
		from := st
		if a == publication.ActionWithdraw {
			from = p.Status
		}
		if _, err := publication.CheckTransition(from, a); err != nil {
			continue
		}
		need := auth.ApprovePublications
		if a == publication.ActionSubmit {
			need = auth.WritePublications
		}
		if v.can(need) {
			out[a] = true
		}
	}
	fourEyes := false
	if out[publication.ActionApprove] && !canApprove(p, v.user.ID) {
		delete(out, publication.ActionApprove)
		fourEyes = true
	}
	return out, fourEyes
}

// canApprove is the four-eyes rule on what is to be approved: the
// author and whoever last edited it may not.
func canApprove(p *publication.Publication, userID int64) bool {
	editor := p.EditorID
	if p.Next != nil {
		editor = p.Next.EditorID
	}
	return publication.CanApprove(p.AuthorID, editor, userID)
}

// savePublication saves the editor. The button "add a product row"
// saves too, and comes back with one blank row more.
func (c *Console) savePublication(w http.ResponseWriter, r *http.Request, v *visit) {
	svc, p, ok := c.pathPublication(w, r, v)
	if !ok {
		return
	}
	base, _, _ := editable(&p)
	rows, _ := strconv.Atoi(r.PostFormValue("rows"))
	content, err := readContent(r, base, c.pubLanguages(), c.pubSeverities(), c.now().UTC())
	if err == nil {
		_, err = c.editPublication(r, v, svc, p.ID, content, strings.TrimSpace(r.PostFormValue("note")))
	}
	if text := c.pubInputText(v, err); text != "" {
		c.showPublication(w, r, v, svc, p, content, rows, http.StatusUnprocessableEntity, "", text)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	to := "/publications/" + strconv.FormatInt(p.ID, 10)
	if r.PostFormValue("add") == "product" {
		redirectDone(w, r, to+"?rows="+strconv.Itoa(min(max(rows, 1)+1, 20))+"#products", "publication-row-added")
		return
	}
	redirectDone(w, r, to, "publication-saved")
}

// publicationAction runs one workflow action from its button.
func (c *Console) publicationAction(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		svc, p, ok := c.pathPublication(w, r, v)
		if !ok {
			return
		}
		if action == publication.ActionApprove && !canApprove(&p, v.user.ID) {
			c.forbidden(w, r, v)
			return
		}
		err := c.runPublicationAction(r, v, svc, p.ID, action)
		if text := c.pubInputText(v, err); text != "" {
			content, _, _ := editable(&p)
			c.showPublication(w, r, v, svc, p, content, 0, http.StatusUnprocessableEntity, "", text)
			return
		}
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		redirectDone(w, r, "/publications/"+strconv.FormatInt(p.ID, 10), "publication-"+action)
	}
}
