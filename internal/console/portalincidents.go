package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
)

// The portal's incidents (issue 12): a constituent reports an incident
// from its portal and follows its own incidents there. What it is shown
// is decided in package incident (ConstituentIncidents and its siblings,
// the rule in docs/INCIDENTS.md); these handlers only pass them the
// organisation the constituent middleware resolved from the signed-in
// user, and render what they return, which holds no internal field.

// Message IDs of the portal's incident pages.
const (
	msgTitlePortalIncidents  = "title.portal.incidents"
	msgTitlePortalIncident   = "title.portal.incident"
	msgTitlePortalReportNew  = "title.portal.report.new"
	msgTitlePortalReportDone = "title.portal.report.done"
	msgPortalReportSubject   = "portal.report.error.subject"
)

// portalPerPage is the length of a page of the portal's incidents and of
// its reports.
const portalPerPage = 50

func (c *Console) portalIncidentRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /portal/incidents", c.constituent(c.portalIncidents))
	m.HandleFunc("GET /portal/incidents/{tag}", c.constituent(c.portalIncident))
	if c.reports == nil || c.reports.service == nil {
		return
	}
	m.HandleFunc("GET /portal/reports/new", c.constituent(c.portalReportForm))
	m.HandleFunc("POST /portal/reports/new", c.constituentUpTo(c.reports.maxBody(), c.portalReport))
}

// portalIncidentsPage is the data of the portal's incident list: the
// incidents the organisation may see and its own reports, each list a
// page of its own.
type portalIncidentsPage struct {
	Organisation constituency.Organisation
	Incidents    incident.ConstituentPage[incident.ConstituentIncident]
	Reports      incident.ConstituentPage[incident.ConstituentReport]
	// NextIncidents and NextReports are the links to the following
	// pages, "" on the last.
	NextIncidents, NextReports string
}

// offsetParam reads a page offset, 0 when absent or not a count.
func offsetParam(values url.Values, name string) int {
	n, err := strconv.Atoi(values.Get(name))
	if err != nil || n < 0 || n > incident.CountLimit {
		return 0
	}
	return n
}

func (c *Console) portalIncidents(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	ctx := r.Context()
	values := r.URL.Query()
	incOffset, repOffset := offsetParam(values, "incidents"), offsetParam(values, "reports")
	p := portalIncidentsPage{Organisation: org}
	var err error
	if p.Incidents, err = incident.ConstituentIncidents(ctx, c.store, org.ID, portalPerPage, incOffset); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if p.Reports, err = incident.ConstituentReports(ctx, c.store, org.ID, portalPerPage, repOffset); err != nil {
		c.fail(w, r, v, err)
		return
	}
	next := func(name string, offset int, total int) string {
		if offset+portalPerPage >= total {
			return ""
		}
		q := url.Values{"incidents": {strconv.Itoa(incOffset)}, "reports": {strconv.Itoa(repOffset)}}
		q.Set(name, strconv.Itoa(offset+portalPerPage))
		return "/portal/incidents?" + q.Encode()
	}
	p.NextIncidents = next("incidents", incOffset, p.Incidents.Total)
	p.NextReports = next("reports", repOffset, p.Reports.Total)
	c.render(w, r, v, http.StatusOK, "portal_incidents", msgTitlePortalIncidents, p, flashOf(r), "")
}

// portalIncidentPage is the data of one incident in the portal.
type portalIncidentPage struct {
	Organisation constituency.Organisation
	Incident     incident.ConstituentIncident
}

func (c *Console) portalIncident(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	tag, err := incident.ParseTag(r.PathValue("tag"))
	if err != nil {
		c.notFound(w, r, v)
		return
	}
	inc, err := incident.ConstituentIncidentByTag(r.Context(), c.store, org.ID, tag)
	// Another organisation's incident answers exactly like a missing
	// one, so that a guessed tag tells nothing.
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, v, http.StatusOK, "portal_incident", msgTitlePortalIncident, portalIncidentPage{Organisation: org, Incident: inc}, "", "")
}

// portalReportPage is the data of the portal's report form, and of the
// answer to it.
type portalReportPage struct {
	Organisation constituency.Organisation
	Kinds        []reportKindChoice
	Subject      string
	Concerned    string
	Text         string
	MaxFiles     int
	MaxFileMB    int64
	// Problems are the refusals of a post, translated.
	Problems []string
	// Tracking is the tracking number of the report just sent.
	Tracking string
	// Incident is the tag of the incident it was grouped onto when the
	// organisation may see it, "" otherwise.
	Incident string
}

func (c *Console) newPortalReportPage(org constituency.Organisation, kind string) portalReportPage {
	p := portalReportPage{Organisation: org, MaxFiles: c.reports.cfg.MaxFiles, MaxFileMB: c.reports.cfg.MaxFileBytes >> 20}
	for _, k := range incident.Kinds {
		p.Kinds = append(p.Kinds, reportKindChoice{Value: string(k), Label: incident.KindKey(k), Checked: string(k) == kind})
	}
	return p
}

func (c *Console) portalReportForm(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	c.render(w, r, v, http.StatusOK, "portal_report", msgTitlePortalReportNew, c.newPortalReportPage(org, r.URL.Query().Get("kind")), "", "")
}

// portalReport receives a report from the portal: channel portal, the
// user as the reporter and the user's organisation as the reporter's,
// grouped like any report.
func (c *Console) portalReport(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	p := c.newPortalReportPage(org, r.PostFormValue("kind"))
	p.Subject = strings.TrimSpace(r.PostFormValue("subject"))
	p.Concerned = strings.TrimSpace(r.PostFormValue("concerned"))
	p.Text = strings.TrimSpace(r.PostFormValue("text"))
	refuse := func(status int, problems ...string) {
		p.Problems = problems
		c.render(w, r, v, status, "portal_report", msgTitlePortalReportNew, p, "", "")
	}
	rep, problems := c.readPortalReport(r, v, org, p)
	if len(problems) > 0 {
		refuse(http.StatusBadRequest, problems...)
		return
	}
	receipt, err := c.reports.service.Receive(r.Context(), rep)
	if msg := c.inputText(v, err); msg != "" {
		refuse(http.StatusBadRequest, c.filesAgain(v, r, msg)...)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "report.create", receipt.Tracking, fmt.Sprintf("portal, %s, %s", rep.Kind, org.Handle))
	done := portalReportPage{Organisation: org, Tracking: receipt.Tracking}
	if !receipt.Tag.IsZero() {
		if _, err := incident.ConstituentIncidentByTag(r.Context(), c.store, org.ID, receipt.Tag); err == nil {
			done.Incident = receipt.Tag.String()
		}
	}
	c.render(w, r, v, http.StatusOK, "portal_report_done", msgTitlePortalReportDone, done, "", "")
}

// readPortalReport builds the report a valid post of the portal's form
// describes, its attachments stored already; otherwise it returns why
// not, translated. The attachments are checked as the public form's.
func (c *Console) readPortalReport(r *http.Request, v *visit, org constituency.Organisation, p portalReportPage) (*incident.Report, []string) {
	var problems []string
	kind := incident.Kind(r.PostFormValue("kind"))
	if !kind.Valid() {
		problems = append(problems, c.catalog.T(v.lang, msgReportErrKind))
	}
	if len(p.Subject) > incident.MaxSubjectBytes {
		problems = append(problems, c.catalog.T(v.lang, msgPortalReportSubject, incident.MaxSubjectBytes))
	}
	if p.Text == "" {
		problems = append(problems, c.catalog.T(v.lang, msgReportErrText))
	}
	files, fileProblems := c.reportFiles(r, v)
	problems = append(problems, fileProblems...)
	if len(problems) > 0 {
		if r.MultipartForm != nil && len(r.MultipartForm.File["files"]) > 0 {
			problems = append(problems, c.catalog.T(v.lang, msgReportErrFilesAgain))
		}
		return nil, problems
	}
	rep := &incident.Report{
		Channel:  incident.ChannelPortal,
		Kind:     kind,
		Received: c.now(),
		// The organisation is the one the middleware resolved from the
		// user: nothing in the form can name another.
		Reporter:  incident.Reporter{Name: v.user.Name, Email: v.user.Email, OrgID: org.ID},
		Language:  v.lang,
		Subject:   p.Subject,
		Text:      p.Text,
		Concerned: p.Concerned,
		// As the public form: the URL or sender first.
		Observables: extract.Find(p.Concerned + "\n" + p.Subject + "\n" + p.Text),
	}
	if err := c.attachReportFiles(r.Context(), rep, files); err != nil {
		c.logger.Error("portal report: store attachment", "err", err)
		return nil, []string{c.catalog.T(v.lang, msgErrorInternal)}
	}
	rep.Observables = incident.UniqueObservables(rep.Observables)
	return rep, nil
}
