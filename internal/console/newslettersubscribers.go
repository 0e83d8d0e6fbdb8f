package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/store"
)

// This file is the team's side of the newsletter: who subscribed, in
// which language, the export, bounces and removals, and how far each
// issue's sending is.

func (c *Console) subscriberRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /newsletter/subscribers", c.member(auth.ManageSubscribers, c.subscribers))
	m.HandleFunc("GET /newsletter/subscribers/export.csv", c.member(auth.ManageSubscribers, c.exportSubscribers))
	m.HandleFunc("POST /newsletter/subscribers/{id}/bounced", c.member(auth.ManageSubscribers, c.markSubscriberBounced))
	m.HandleFunc("POST /newsletter/subscribers/{id}/delete", c.member(auth.ManageSubscribers, c.deleteSubscriber))
}

// subscribersPage is the data of the subscribers page.
type subscribersPage struct {
	Query       newsletter.Query
	Statuses    []string
	Languages   []string
	Counts      []subscriberCountRow
	ByStatus    []int // every language's, in Statuses' order
	Total       int
	Subscribers []newsletter.Subscriber
	Matching    int
	Next, Prev  string // links to the next and previous pages
	Export      string
	Issues      []issueRow
	SendStates  []string
}

// subscriberCountRow is one language's counts, by status.
type subscriberCountRow struct {
	Lang     string
	ByStatus []int // in Statuses' order
	Total    int
}

// issueRow is one issue and its sends in SendStates' order.
type issueRow struct {
	newsletter.Progress
	Title string
	By    []int
}

// subscriberQuery reads the page's filter.
func subscriberQuery(q url.Values) newsletter.Query {
	nq := newsletter.Query{Text: q.Get("q"), Status: q.Get("status"), Lang: q.Get("lang"), Limit: 100}
	if !slices.Contains(newsletter.Statuses, nq.Status) {
		nq.Status = ""
	}
	if len(nq.Text) > 254 {
		nq.Text = nq.Text[:254]
	}
	nq.Offset, _ = strconv.Atoi(q.Get("offset"))
	nq.Offset = max(nq.Offset, 0)
	return nq
}

func (q subscribersPage) link(offset int) string {
	v := url.Values{}
	for k, s := range map[string]string{"q": q.Query.Text, "status": q.Query.Status, "lang": q.Query.Lang} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if len(v) == 0 {
		return "/newsletter/subscribers"
	}
	return "/newsletter/subscribers?" + v.Encode()
}

func (c *Console) subscribers(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	st := c.newsletter.service.Store
	p := subscribersPage{Query: subscriberQuery(r.URL.Query()), Statuses: newsletter.Statuses,
		Languages: c.newsletter.service.Config.Languages, SendStates: newsletter.SendStatuses}
	counts, err := st.CountSubscribers(ctx)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	byLang := map[string]*subscriberCountRow{}
	p.ByStatus = make([]int, len(newsletter.Statuses))
	for _, n := range counts {
		row := byLang[n.Lang]
		if row == nil {
			row = &subscriberCountRow{Lang: n.Lang, ByStatus: make([]int, len(newsletter.Statuses))}
			byLang[n.Lang] = row
		}
		if i := slices.Index(newsletter.Statuses, n.Status); i >= 0 {
			row.ByStatus[i] += n.N
			p.ByStatus[i] += n.N
		}
		row.Total += n.N
		p.Total += n.N
	}
	for _, lang := range sortedKeys(byLang) {
		p.Counts = append(p.Counts, *byLang[lang])
	}
	if p.Subscribers, p.Matching, err = st.ListSubscribers(ctx, p.Query); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if p.Query.Offset+len(p.Subscribers) < p.Matching {
		p.Next = p.link(p.Query.Offset + p.Query.Limit)
	}
	if p.Query.Offset > 0 {
		p.Prev = p.link(max(p.Query.Offset-p.Query.Limit, 0))
	}
	p.Export = "/newsletter/subscribers/export.csv"
	if l := p.link(0); len(l) > len("/newsletter/subscribers") {
		p.Export += l[len("/newsletter/subscribers"):]
	}
	progress, err := st.ListProgress(ctx, 20)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	for _, pr := range progress {
		text, _ := pr.Publication.Text(v.lang)
		row := issueRow{Progress: pr, Title: text.Title}
		for _, s := range newsletter.SendStatuses {
			row.By = append(row.By, pr.Counts[s])
		}
		p.Issues = append(p.Issues, row)
	}
	flash := ""
	switch r.URL.Query().Get("done") {
	case "bounced":
		flash = "newsletter.subscribers.done.bounced"
	case "removed":
		flash = "newsletter.subscribers.done.removed"
	}
	c.render(w, r, v, http.StatusOK, "newsletter_subscribers", "title.newsletter.subscribers", p, flash, "")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// exportSubscribers writes the subscribers matching the page's filter as
// CSV, every cell defused against formulas.
func (c *Console) exportSubscribers(w http.ResponseWriter, r *http.Request, v *visit) {
	q := subscriberQuery(r.URL.Query())
	cw, write := c.csvDownload(w, "subscribers")
	if err := write([]string{"address", "language", "warnings", "status", "created", "confirmed", "changed"}); err != nil {
		return
	}
	err := c.newsletter.service.Store.EachSubscriber(r.Context(), q, func(s newsletter.Subscriber) error {
		return write([]string{s.Address, s.Lang, strconv.FormatBool(s.Warnings), s.Status, csvTime(s.Created), csvTime(s.Confirmed), csvTime(s.Changed)})
	})
	cw.Flush()
	if err != nil {
		c.logger.Error("export subscribers", "err", err)
	}
	c.audit(r.Context(), v, "newsletter.export", "subscribers", "")
}

// subscriberID reads the {id} of a subscriber route, not found otherwise.
func (c *Console) subscriberID(w http.ResponseWriter, r *http.Request, v *visit) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.notFound(w, r, v)
		return 0, false
	}
	return id, true
}

func (c *Console) markSubscriberBounced(w http.ResponseWriter, r *http.Request, v *visit) {
	id, ok := c.subscriberID(w, r, v)
	if !ok {
		return
	}
	s, err := c.newsletter.service.MarkBounced(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "newsletter.bounced", "subscriber "+strconv.FormatInt(id, 10), s.Address)
	http.Redirect(w, r, "/newsletter/subscribers?done=bounced", http.StatusSeeOther)
}

func (c *Console) deleteSubscriber(w http.ResponseWriter, r *http.Request, v *visit) {
	id, ok := c.subscriberID(w, r, v)
	if !ok {
		return
	}
	s, err := c.newsletter.service.Store.GetSubscriber(r.Context(), id)
	if err == nil {
		err = c.newsletter.service.Store.DeleteSubscriber(r.Context(), id)
	}
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "newsletter.remove", "subscriber "+strconv.FormatInt(id, 10), s.Address)
	http.Redirect(w, r, "/newsletter/subscribers?done=removed", http.StatusSeeOther)
}
