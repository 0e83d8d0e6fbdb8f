package console

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/correspond"
	"github.com/vigil-cert/vigil/internal/store"
)

// The analysts' incident pages: the list with its filters and the
// incident's own page. The forms that change an incident are in
// incidentforms.go, the triage queue and the phone log in reports.go.
// Every change goes through incident.Service, which writes it with its
// timeline line and then the audit entry.

// The page titles and messages of the case pages.
const (
	msgTitleIncidents      = "title.cases.incidents"
	msgTitleIncident       = "title.cases.incident"
	msgTitleReports        = "title.cases.reports"
	msgTitleReportNew      = "title.cases.reports.new"
	msgIncidentNoReports   = "cases.reports.error.none"
	msgIncidentBadTag      = "cases.reports.error.tag"
	msgIncidentNoReason    = "cases.reports.error.reason"
	msgIncidentMergeReason = "cases.incident.merge.error"
	msgIncidentBadInput    = "cases.incidents.error.input"
	msgIncidentBadUser     = "cases.incidents.error.assignee"
	msgDueIn               = "cases.incidents.due.in"
	msgOverdueBy           = "cases.incidents.due.over"
	msgDeleteHasCases      = "cases.org.delete"
)

// incidentFlashes are the success notices of the case pages, added to
// flashes so that ?done= can name them.
var incidentFlashes = map[string]string{
	"incident-opened":   "done.cases.incident.opened",
	"incident-changed":  "done.cases.incident.changed",
	"incident-status":   "done.cases.incident.status",
	"incident-assigned": "done.cases.incident.assigned",
	"incident-tasks":    "done.cases.incident.tasks",
	"incident-task":     "done.cases.incident.task",
	"incident-note":     "done.cases.incident.note",
	"reports-linked":    "done.cases.reports.linked",
	"reports-closed":    "done.cases.reports.closed",
	"reports-triaged":   "done.cases.reports.triaged",
	"incident-merged":   "done.cases.incident.merged",
	"report-logged":     "done.cases.report.logged",
}

func init() { maps.Copy(flashes, incidentFlashes) }

// incidentRoutes adds the triage queue, the phone log and the incident
// pages.
func (c *Console) incidentRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /reports", c.member(auth.ReadIncidents, c.reportQueue))
	m.HandleFunc("POST /reports/open", c.member(auth.HandleIncidents, c.openFromReports))
	m.HandleFunc("POST /reports/link", c.member(auth.HandleIncidents, c.linkReports))
	m.HandleFunc("POST /reports/close", c.member(auth.HandleIncidents, c.closeReports))
	m.HandleFunc("GET /reports/new", c.member(auth.HandleIncidents, c.phoneForm))
	m.HandleFunc("POST /reports/new", c.member(auth.HandleIncidents, c.logPhoneReport))

	m.HandleFunc("GET /incidents", c.member(auth.ReadIncidents, c.incidentList))
	m.HandleFunc("GET /incidents/{tag}", c.member(auth.ReadIncidents, c.incidentPage))
	m.HandleFunc("POST /incidents/{tag}/status", c.member(auth.HandleIncidents, c.incidentForm(c.transitionIncident)))
	m.HandleFunc("POST /incidents/{tag}/assign", c.member(auth.HandleIncidents, c.incidentForm(c.assignIncident)))
	m.HandleFunc("POST /incidents/{tag}/fields", c.member(auth.HandleIncidents, c.incidentForm(c.changeIncident)))
	m.HandleFunc("POST /incidents/{tag}/playbook", c.member(auth.HandleIncidents, c.incidentForm(c.addPlaybook)))
	m.HandleFunc("POST /incidents/{tag}/tasks/{task}/done", c.member(auth.HandleIncidents, c.incidentForm(c.completeTask)))
	m.HandleFunc("POST /incidents/{tag}/notes", c.member(auth.HandleIncidents, c.incidentForm(c.addIncidentNote)))
	m.HandleFunc("POST /incidents/{tag}/merge", c.member(auth.HandleIncidents, c.incidentForm(c.mergeIncident)))
	m.HandleFunc("POST /reports/triage", c.member(auth.HandleIncidents, c.triageReports))
	m.HandleFunc("POST /incidents/{tag}/owners", c.member(auth.HandleIncidents, c.incidentForm(c.addOwner)))
	c.incidentListRoutes(m)
	c.incidentMailRoutes(m)
}

// cases is the incident service over the console's store.
func (c *Console) cases() *incident.Service {
	return &incident.Service{Store: c.store, Audit: c.store, Catalog: c.catalog, Now: c.now}
}

func actorOf(v *visit) incident.Actor { return incident.Actor{UserID: v.user.ID, Name: v.user.Name} }

// inputText returns the text of a refusal of input in the visitor's
// language, "" when err is none.
func (c *Console) inputText(v *visit, err error) string {
	var ie *incident.InputError
	if errors.As(err, &ie) {
		return ie.Message.In(c.catalog, v.lang)
	}
	return ""
}

// dueText says how long until an incident is due, or how long it is
// overdue, in the visitor's language; "" without a due time or once it
// is resolved.
func (c *Console) dueText(v *visit, inc *incident.Incident) (string, bool) {
	if inc.Due.IsZero() || !inc.Status.Open() || inc.Status == incident.StatusResolved {
		return "", false
	}
	d := inc.Due.Sub(c.now())
	if d < 0 {
		return c.tr(v, msgOverdueBy, c.catalog.Duration(v.lang, -d)), true
	}
	return c.tr(v, msgDueIn, c.catalog.Duration(v.lang, d)), false
}

// incidentRow is one line of the incident list.
type incidentRow struct {
	incident.Incident
	Due     string
	Overdue bool
}

// incidentsPage is the data of the incident list.
type incidentsPage struct {
	incidentSearch
	Rows     []incidentRow
	Total    int
	More     bool
	Statuses []incident.Status
	Users    []auth.User
	// SortURLs are the list's address with each order, keeping the
	// filters.
	SortURLs map[string]string
	// The search form's choices, the built-in views and the extras of
	// incidentlist.go.
	listExtras
}

// incidentListSize is how many incidents the list shows.
const incidentListSize = 100

func (c *Console) incidentList(w http.ResponseWriter, r *http.Request, v *visit) {
	c.showIncidents(w, r, v, http.StatusOK, flashOf(r), "")
}

// showIncidents renders the list as the query string asks, with a notice
// or a problem.
func (c *Console) showIncidents(w http.ResponseWriter, r *http.Request, v *visit, status int, flash, problem string) {
	ctx := r.Context()
	qv := r.URL.Query()
	s, q := parseIncidentSearch(qv, v.user.ID, c.now())
	p := incidentsPage{incidentSearch: s, Statuses: incident.Statuses, SortURLs: map[string]string{}}
	q.Limit = incidentListSize
	page, err := c.store.ListIncidents(ctx, q)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if p.Users, err = c.handlers(ctx); err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Total, p.More = page.Total, page.More
	for _, inc := range page.Incidents {
		row := incidentRow{Incident: inc}
		row.Due, row.Overdue = c.dueText(v, &inc)
		p.Rows = append(p.Rows, row)
	}
	for _, srt := range []incident.IncidentSort{incident.SortUpdated, incident.SortDue, incident.SortCreated} {
		p.SortURLs[string(srt)] = "/incidents?" + keep(qv, searchKeys, string(srt)).Encode()
	}
	if p.listExtras, err = c.listExtras(ctx, v, s); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, v, status, "incidents", msgTitleIncidents, p, flash, problem)
}

// handlers are the accounts an incident may be assigned to: the team's
// accounts that may handle incidents, not disabled.
func (c *Console) handlers(ctx context.Context) ([]auth.User, error) {
	users, err := c.store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var out []auth.User
	for _, u := range users {
		if !u.Disabled && auth.Can(u.Role, auth.HandleIncidents) {
			out = append(out, u)
		}
	}
	return out, nil
}

// observableLink is an observable with the events search that finds it,
// "" where the search has no field for its kind.
type observableLink struct {
	Kind, Value, Search string
}

// searchField is the events search's field for each kind of observable
// it can look for.
var searchField = map[string]string{"ip": "ip", "domain": "fqdn", "url": "url", "md5": "hash", "sha1": "hash", "sha256": "hash"}

func observableLinks(inc *incident.Incident) []observableLink {
	out := make([]observableLink, 0, len(inc.Observables))
	for _, o := range inc.Observables {
		l := observableLink{Kind: string(o.Kind), Value: o.Value}
		if f, ok := searchField[string(o.Kind)]; ok {
			l.Search = "/events?" + url.Values{f: {o.Value}}.Encode()
		}
		out = append(out, l)
	}
	return out
}

// incidentView is the data of an incident's page.
type incidentView struct {
	Inc         incident.Incident
	Due         string
	Overdue     bool
	Orgs        []constituency.Organisation
	OrgChoices  []orgChoice
	Reports     []incident.Report
	Observables []observableLink
	Tasks       []incident.Task
	Timeline    []timelineRow
	Users       []auth.User
	Next        []incident.Status
	Severities  []incident.Severity
	TLPs        []incident.TLP
	PAPs        []incident.PAP
	CanHandle   bool
	// Playbook is the incident's playbook, whose steps not added yet
	// the playbook button adds.
	Playbook incident.Playbook
	OwnID    int64
	// MergedInto is the tag of the incident this one was merged into.
	MergedInto string
	// Lookup is what Vigil knows of the observables.
	Lookup lookupView
	// Attachments are the incident's and its reports' (incidentfiles.go).
	Attachments []incident.IncidentAttachment
	// MailTemplates are the templates the correspondence offers.
	MailTemplates []string
	// Events are the events it holds, a page of them (eventactions.go).
	Events incidentEvents
}

// timelineRow is a line of the timeline with the tracking numbers of the
// reports it names (report_linked), where the incident still holds them.
type timelineRow struct {
	incident.Entry
	Tracking []string
	// Mail is the report a mail_in line received, when the incident
	// still holds it: its sender and text are shown with the line.
	Mail *incident.Report
	// Events is how many events the entry added (events_added).
	Events int
}

func timelineRows(entries []incident.Entry, reports []incident.Report) []timelineRow {
	tracking := make(map[string]string, len(reports))
	for _, r := range reports {
		tracking[strconv.FormatInt(r.ID, 10)] = r.Tracking
	}
	rows := make([]timelineRow, len(entries))
	for i, e := range entries {
		rows[i].Entry = e
		if e.Kind == incident.EntryMailIn {
			rows[i].Mail = mailOf(e, reports)
		}
		if e.Kind == incident.EntryEventsAdded {
			rows[i].Events, _ = strconv.Atoi(e.Details["events"])
		}
		if e.Kind != incident.EntryReportLinked {
			continue
		}
		ids := strings.Split(e.Details["reports"], ",")
		if e.Details["report"] != "" {
			ids = append(ids, e.Details["report"])
		}
		for _, id := range ids {
			if t, ok := tracking[id]; ok {
				rows[i].Tracking = append(rows[i].Tracking, t)
			}
		}
	}
	return rows
}

// orgChoice is an organisation in the form's list of those concerned.
type orgChoice struct {
	ID       int64
	Name     string
	Selected bool
}

// pathIncident loads the incident of the {tag} in the path; it answers
// the request itself (not found, failure) when it returns false.
func (c *Console) pathIncident(w http.ResponseWriter, r *http.Request, v *visit) (incident.Incident, bool) {
	tag, err := incident.ParseTag(r.PathValue("tag"))
	if err != nil {
		c.notFound(w, r, v)
		return incident.Incident{}, false
	}
	inc, err := c.store.GetIncidentByTag(r.Context(), tag)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return inc, false
	}
	if err != nil {
		c.fail(w, r, v, err)
		return inc, false
	}
	return inc, true
}

func (c *Console) incidentPage(w http.ResponseWriter, r *http.Request, v *visit) {
	inc, ok := c.pathIncident(w, r, v)
	if !ok {
		return
	}
	c.showIncident(w, r, v, inc, http.StatusOK, flashOf(r), "")
}

// showIncident renders an incident's page with what its sections need.
func (c *Console) showIncident(w http.ResponseWriter, r *http.Request, v *visit, inc incident.Incident, status int, flash, problem string) {
	ctx := r.Context()
	p := incidentView{Inc: inc, Observables: observableLinks(&inc), Next: incident.Transitions(inc.Status),
		Severities: incident.Severities, TLPs: incident.TLPs, PAPs: incident.PAPs,
		CanHandle: v.can(auth.HandleIncidents), Playbook: incident.PlaybookFor(inc.Kind, inc.Type), OwnID: v.user.ID,
		MailTemplates: correspond.Templates}
	p.Due, p.Overdue = c.dueText(v, &inc)
	if inc.MergedInto != 0 {
		into, err := c.store.GetIncident(ctx, inc.MergedInto)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		p.MergedInto = into.Tag.String()
	}
	orgs, err := c.store.ListOrganisations(ctx, constituency.OrganisationQuery{})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	for _, o := range orgs {
		ch := orgChoice{ID: o.ID, Name: o.Name, Selected: slices.Contains(inc.OrgIDs, o.ID)}
		if ch.Selected {
			p.Orgs = append(p.Orgs, o)
		}
		p.OrgChoices = append(p.OrgChoices, ch)
	}
	reports, err := c.store.ListReports(ctx, incident.ReportQuery{IncidentID: inc.ID, Oldest: true, Limit: 200})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Reports = reports.Reports
	if p.Tasks, err = c.store.Tasks(ctx, inc.ID); err != nil {
		c.fail(w, r, v, err)
		return
	}
	entries, err := c.store.Timeline(ctx, inc.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Timeline = timelineRows(entries, p.Reports)
	p.Lookup = c.incidentLookup(ctx, &inc)
	if p.Attachments, err = c.store.IncidentAttachments(ctx, inc.ID, incidentAttachmentsShown); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if p.Events, err = c.incidentEventsOf(r, inc); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if p.Users, err = c.handlers(ctx); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, v, status, "incident", msgTitleIncident, p, flash, problem)
}

// incidentChange is a form's change of an incident: it returns the
// notice to show (a flashes key) or the local address to go to, or an
// error: an *incident.InputError
// is shown on the page, anything else fails the request.
type incidentChange func(r *http.Request, v *visit, inc incident.Incident) (string, error)

// incidentForm runs a form that changes the incident of the path and
// answers with its page: after a redirect on success, at once with the
// problem otherwise.
func (c *Console) incidentForm(change incidentChange) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		inc, ok := c.pathIncident(w, r, v)
		if !ok {
			return
		}
		done, err := change(r, v, inc)
		if errors.Is(err, store.ErrNotFound) {
			c.notFound(w, r, v)
			return
		}
		if text := c.inputText(v, err); text != "" {
			c.showIncident(w, r, v, inc, http.StatusBadRequest, "", text)
			return
		}
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		if strings.HasPrefix(done, "/") {
			// The change leads to another page (a merge, to the incident
			// that survived it).
			http.Redirect(w, r, done, http.StatusSeeOther)
			return
		}
		redirectDone(w, r, "/incidents/"+inc.Tag.String(), done)
	}
}

// refuse is a refusal of a console form's input, said on the page like
// the service's own.
func refuse(id string, args ...any) error { return incident.Refuse(id, args...) }

// organisationIncidentsShown is how many incidents an organisation's page
// lists.
const organisationIncidentsShown = 10

// organisationIncidents are the latest incidents that concern an
// organisation, none for a visitor who may not read incidents.
func (c *Console) organisationIncidents(ctx context.Context, v *visit, orgID int64) ([]incident.Incident, error) {
	if !v.can(auth.ReadIncidents) {
		return nil, nil
	}
	page, err := c.store.ListIncidents(ctx, incident.IncidentQuery{OrgID: orgID, Limit: organisationIncidentsShown})
	return page.Incidents, err
}
