package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
)

// The triage queue of reports, its bulk actions (open an incident, link
// to one, close with a reason), and the form an analyst logs a phone
// call or a visit with.

// reportsPage is the data of the triage queue.
type reportsPage struct {
	Reports  []incident.Report
	Total    int
	More     bool
	Kind     string
	Channel  string
	State    string
	Oldest   bool
	Kinds    []incident.Kind
	Channels []incident.Channel
	States   []incident.ReportState
	// NewestURL and OldestURL are the queue with each order, keeping
	// the filters.
	NewestURL, OldestURL string
	// Query is the queue's filters and order, which the bulk form
	// carries back.
	Query     string
	CanHandle bool
	// Tag and Reason are the bulk form's fields, shown again with a
	// problem.
	Tag, Reason string
	// Alerts are the pipeline alerts among Reports, by report id.
	Alerts map[int64]*alertView
}

// reportQueueSize is how many reports the queue shows at once.
const reportQueueSize = 100

func (c *Console) reportQueue(w http.ResponseWriter, r *http.Request, v *visit) {
	c.showReports(w, r, v, http.StatusOK, reportsPage{}, flashOf(r), "")
}

// showReports renders the queue as the query string asks, with the bulk
// form's fields of p.
func (c *Console) showReports(w http.ResponseWriter, r *http.Request, v *visit, status int, p reportsPage, flash, problem string) {
	qv := r.URL.Query()
	p.Kind, p.Channel, p.State, p.Oldest = qv.Get("kind"), qv.Get("channel"), qv.Get("state"), qv.Get("sort") == "oldest"
	p.Kinds, p.Channels, p.States = incident.Kinds, incident.Channels, incident.ReportStates
	p.CanHandle = v.can(auth.HandleIncidents)
	q := incident.ReportQuery{Limit: reportQueueSize, Oldest: p.Oldest, States: []incident.ReportState{incident.ReportNew}}
	if k := incident.Kind(p.Kind); k.Valid() {
		q.Kinds = []incident.Kind{k}
	} else {
		p.Kind = ""
	}
	if ch := incident.Channel(p.Channel); ch.Valid() {
		q.Channels = []incident.Channel{ch}
	} else {
		p.Channel = ""
	}
	if s := incident.ReportState(p.State); s.Valid() {
		q.States = []incident.ReportState{s}
	} else {
		p.State = ""
	}
	page, err := c.store.ListReports(r.Context(), q)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Reports, p.Total, p.More = page.Reports, page.Total, page.More
	if p.Alerts, err = c.reportAlerts(r.Context(), p.Reports); err != nil {
		c.fail(w, r, v, err)
		return
	}
	u := url.Values{}
	for _, k := range []string{"kind", "channel", "state"} {
		if qv.Get(k) != "" {
			u.Set(k, qv.Get(k))
		}
	}
	p.NewestURL = "/reports?" + u.Encode()
	u.Set("sort", "oldest")
	p.OldestURL = "/reports?" + u.Encode()
	p.Query = p.NewestURL[len("/reports?"):]
	if p.Oldest {
		p.Query = u.Encode()
	}
	c.render(w, r, v, status, "reports", msgTitleReports, p, flash, problem)
}

// selectedReports reads the reports ticked in the queue.
func selectedReports(r *http.Request) ([]int64, bool) {
	var ids []int64
	for _, s := range r.PostForm["report"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, len(ids) > 0
}

// reportAction runs a bulk action on the ticked reports: the queue
// again with the problem when the input is refused.
func (c *Console) reportAction(w http.ResponseWriter, r *http.Request, v *visit, act func(ids []int64) (string, error)) {
	p := reportsPage{Tag: strings.TrimSpace(r.PostFormValue("tag")), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	// The queue's filters come back with the form, so that the page
	// shown again is the one the analyst was on.
	r.URL.RawQuery = r.PostFormValue("back")
	ids, ok := selectedReports(r)
	if !ok {
		c.showReports(w, r, v, http.StatusBadRequest, p, "", msgIncidentNoReports)
		return
	}
	to, err := act(ids)
	if errors.Is(err, store.ErrNotFound) {
		err = refuse(msgIncidentNoReports)
	}
	if text := c.inputText(v, err); text != "" {
		c.showReports(w, r, v, http.StatusBadRequest, p, "", text)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// openFromReports opens an incident from the ticked reports: the first
// one's kind, classification and severity, titled as the form says or
// after the first report.
func (c *Console) openFromReports(w http.ResponseWriter, r *http.Request, v *visit) {
	c.reportAction(w, r, v, func(ids []int64) (string, error) {
		first, err := c.store.GetReport(r.Context(), ids[0])
		if err != nil {
			return "", err
		}
		title := strings.TrimSpace(r.PostFormValue("title"))
		if title == "" {
			title = c.tr(v, incident.KindKey(first.Kind))
			if about := firstOf(first.Concerned, first.Subject); about != "" {
				title = c.tr(v, "incident.title.grouped", title, about)
			}
		}
		draft := incident.Incident{Title: title}
		if err := c.fromAlerts(r.Context(), &draft, ids); err != nil {
			return "", err
		}
		inc, err := c.cases().CreateIncident(r.Context(), actorOf(v), draft, ids)
		if err != nil {
			return "", err
		}
		return "/incidents/" + inc.Tag.String() + "?done=incident-opened", nil
	})
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x = strings.TrimSpace(x); x != "" {
			if len(x) > 200 {
				x = x[:200]
			}
			return strings.ToValidUTF8(x, "")
		}
	}
	return ""
}

// linkReports links the ticked reports to the incident of the tag typed.
func (c *Console) linkReports(w http.ResponseWriter, r *http.Request, v *visit) {
	c.reportAction(w, r, v, func(ids []int64) (string, error) {
		tag, err := incident.ParseTag(strings.TrimSpace(r.PostFormValue("tag")))
		if err != nil {
			return "", refuse(msgIncidentBadTag, r.PostFormValue("tag"))
		}
		inc, err := c.store.GetIncidentByTag(r.Context(), tag)
		if errors.Is(err, store.ErrNotFound) {
			return "", refuse(msgIncidentBadTag, tag.String())
		} else if err != nil {
			return "", err
		}
		if _, err := c.cases().LinkReports(r.Context(), actorOf(v), inc.ID, ids); err != nil {
			return "", err
		}
		return "/incidents/" + inc.Tag.String() + "?done=reports-linked", nil
	})
}

// triageReports marks the ticked reports looked at: they leave the queue
// of new reports without an incident.
func (c *Console) triageReports(w http.ResponseWriter, r *http.Request, v *visit) {
	c.reportAction(w, r, v, func(ids []int64) (string, error) {
		if _, err := c.cases().TriageReports(r.Context(), actorOf(v), ids); err != nil {
			return "", err
		}
		back := "/reports"
		if q := r.PostFormValue("back"); q != "" {
			back += "?" + q
		}
		return back + sep(back) + "done=reports-triaged", nil
	})
}

// closeReports closes the ticked reports with a reason, no incident.
func (c *Console) closeReports(w http.ResponseWriter, r *http.Request, v *visit) {
	c.reportAction(w, r, v, func(ids []int64) (string, error) {
		reason := strings.TrimSpace(r.PostFormValue("reason"))
		if reason == "" {
			return "", refuse(msgIncidentNoReason)
		}
		if _, err := c.cases().CloseReports(r.Context(), actorOf(v), ids, reason); err != nil {
			return "", err
		}
		back := "/reports"
		if q := r.PostFormValue("back"); q != "" {
			back += "?" + q
		}
		return back + sep(back) + "done=reports-closed", nil
	})
}

func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

// phoneForm is the data of the form an analyst logs a call with.
type phoneForm struct {
	Kinds                               []incident.Kind
	Kind, Name, Phone, Email, Concerned string
	Text                                string
}

func (c *Console) phoneForm(w http.ResponseWriter, r *http.Request, v *visit) {
	c.render(w, r, v, http.StatusOK, "reports_new", msgTitleReportNew,
		phoneForm{Kinds: incident.Kinds, Kind: string(incident.KindOther)}, "", "")
}

// logPhoneReport receives a report an analyst took by phone or at the
// desk: it enters the queue (or groups) like any other report, with the
// observables of its text and the URL or sender concerned.
func (c *Console) logPhoneReport(w http.ResponseWriter, r *http.Request, v *visit) {
	f := phoneForm{Kinds: incident.Kinds, Kind: r.PostFormValue("kind"), Name: strings.TrimSpace(r.PostFormValue("name")),
		Phone: strings.TrimSpace(r.PostFormValue("phone")), Email: strings.TrimSpace(r.PostFormValue("email")),
		Concerned: strings.TrimSpace(r.PostFormValue("concerned")), Text: strings.TrimSpace(r.PostFormValue("text"))}
	if f.Text == "" {
		c.render(w, r, v, http.StatusBadRequest, "reports_new", msgTitleReportNew, f, "", "cases.reports.error.text")
		return
	}
	rep := incident.Report{Channel: incident.ChannelPhone, Kind: incident.Kind(f.Kind), Received: c.now(),
		Reporter: incident.Reporter{Name: f.Name, Email: f.Email, Phone: f.Phone}, Language: v.lang,
		Text: f.Text, Concerned: f.Concerned}
	rep.Observables = extract.Find(f.Concerned + "\n" + f.Text)
	if len(rep.Observables) > incident.MaxObservables {
		rep.Observables = rep.Observables[:incident.MaxObservables]
	}
	rec, err := c.cases().Receive(r.Context(), &rep)
	if text := c.inputText(v, err); text != "" {
		c.render(w, r, v, http.StatusBadRequest, "reports_new", msgTitleReportNew, f, "", text)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "report.log", rec.Tracking, "phone")
	if rec.IncidentID != 0 {
		redirectDone(w, r, "/incidents/"+rec.Tag.String(), "report-logged")
		return
	}
	redirectDone(w, r, "/reports", "report-logged")
}

// excerpt is the start of a report's text for a list: at most 300
// bytes, cut at a rune's boundary.
func excerpt(s string) string {
	const most = 300
	if len(s) <= most {
		return s
	}
	s = s[:most]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + " …"
}
