package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
)

// The triage queue of reports, its bulk actions (open an incident, link
// to one, close with a reason), and the form an analyst logs a phone
// call or a visit with.

// reportsPage is the data of the triage queue.
type reportsPage struct {
	reportSearch
	Reports  []incident.Report
	Total    int
	More     bool
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
	// Owners are the owners of each report's observables, by report id.
	Owners map[int64][]constituency.Owner
	// The search form's choices and the extras of incidentlist.go.
	queueExtras
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
	var q incident.ReportQuery
	p.reportSearch, q = parseReportSearch(qv)
	p.Kinds, p.Channels, p.States = incident.Kinds, incident.Channels, incident.ReportStates
	p.CanHandle = v.can(auth.HandleIncidents)
	q.Limit = reportQueueSize
	page, err := c.store.ListReports(r.Context(), q)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Reports, p.Total, p.More = page.Reports, page.Total, page.More
	p.Owners = c.reportOwners(r.Context(), p.Reports)
	if p.Alerts, err = c.reportAlerts(r.Context(), p.Reports); err != nil {
		c.fail(w, r, v, err)
		return
	}
	u := keep(qv, reportSearchKeys, "")
	p.NewestURL = "/reports?" + u.Encode()
	u.Set("sort", "oldest")
	p.OldestURL = "/reports?" + u.Encode()
	p.Query = p.NewestURL[len("/reports?"):]
	if p.Oldest {
		p.Query = u.Encode()
	}
	if p.queueExtras, err = c.queueExtras(r.Context(), v, p.Query); err != nil {
		c.fail(w, r, v, err)
		return
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
		title := strings.TrimSpace(r.PostFormValue("title"))
		if title == "" {
			first, err := c.store.GetReport(r.Context(), ids[0])
			if err != nil {
				return "", err
			}
			title = c.cases().ReportTitle(v.lang, first)
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
		reply, open, err := c.closeReply(r, ids)
		if err != nil {
			return "", err
		}
		if _, err := c.cases().CloseReports(r.Context(), actorOf(v), ids, reason); err != nil {
			return "", err
		}
		c.replyOnClose(r.Context(), v, reply, open)
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
