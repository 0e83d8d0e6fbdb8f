package console

import (
	"context"
	"encoding/csv"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/export"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store"
)

// The incident list's and the triage queue's extras: the search form's
// choices, the built-in views, the CSV exports of a search and the bulk
// assignment of incidents (ticked on the list, or those of the reports
// ticked in the queue).

// The messages of the lists' bulk forms.
const (
	msgNoIncidentsTicked = "cases.views.error.none"
	msgReportsNoIncident = "cases.views.error.noincident"
)

func init() {
	maps.Copy(flashes, map[string]string{
		"incidents-assigned": "done.cases.views.assigned",
		"report-split":       "done.cases.views.split",
	})
}

// exportRows is the most rows a CSV export of a list writes: the
// store's largest page. A search that selects more is cut there, and
// the file's last line says so.
var exportRows = 10_000

// incidentListRoutes adds the exports, the bulk assignment, the split of
// a report and the attachments' downloads.
func (c *Console) incidentListRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /incidents.csv", c.member(auth.ReadIncidents, c.exportIncidents))
	m.HandleFunc("GET /reports.csv", c.member(auth.ReadIncidents, c.exportReports))
	m.HandleFunc("POST /incidents/assign", c.member(auth.HandleIncidents, c.bulkAssignIncidents))
	m.HandleFunc("POST /reports/assign", c.member(auth.HandleIncidents, c.bulkAssignReports))
	m.HandleFunc("GET /reports/{id}/split", c.member(auth.HandleIncidents, c.splitForm))
	m.HandleFunc("POST /reports/{id}/split", c.member(auth.HandleIncidents, c.splitReport))
	m.HandleFunc("GET /reports/{id}/attachments/{sha256}", c.member(auth.ReadIncidents, c.reportAttachment))
	m.HandleFunc("GET /incidents/{tag}/attachments/{sha256}", c.member(auth.ReadIncidents, c.incidentAttachment))
}

// listExtras are the incident list's search choices and views.
type listExtras struct {
	Views      []listView
	Kinds      []incident.Kind
	Severities []incident.Severity
	Orgs       []constituency.Organisation
	// ExportURL is the CSV of the current search; Back its query
	// string, which the bulk form carries.
	ExportURL, Back string
	// ReportsURL is the triage queue's search for the same text and
	// observable, in every state, when the search has either; Reports
	// and ReportsMore how many reports it finds, Reports -1 when they
	// are not counted (a search by text alone).
	ReportsURL  string
	Reports     int
	ReportsMore bool
	CanHandle   bool
}

func (c *Console) listExtras(ctx context.Context, v *visit, s incidentSearch) (listExtras, error) {
	x := listExtras{Kinds: incident.Kinds, Severities: incident.Severities, CanHandle: v.can(auth.HandleIncidents)}
	var err error
	if x.Views, err = c.views(ctx, v.user.ID, s); err != nil {
		return x, err
	}
	if x.Orgs, _, err = c.orgNames(ctx); err != nil {
		return x, err
	}
	u := s.values()
	if s.Sort != string(incident.SortUpdated) {
		u.Set("sort", s.Sort)
	}
	x.Back = u.Encode()
	x.ExportURL = "/incidents.csv?" + x.Back
	if s.Text != "" || s.Observable != "" {
		rs := url.Values{"state": {"all"}}
		if s.Text != "" {
			rs.Set("text", s.Text)
		}
		if s.Observable != "" {
			rs.Set("observable", s.Observable)
		}
		x.ReportsURL, x.Reports = "/reports?"+rs.Encode(), -1
		if s.Observable != "" {
			// Counted only by observable, which has an index: a text
			// search of every report reads them all (docs/PERFORMANCE.md).
			_, q := parseReportSearch(rs)
			q.Limit = 1
			page, err := c.store.ListReports(ctx, q)
			if err != nil {
				return x, err
			}
			x.Reports, x.ReportsMore = page.Total, page.More
		}
	}
	return x, nil
}

// queueExtras are the triage queue's search choices.
type queueExtras struct {
	Orgs      []constituency.Organisation
	Users     []auth.User
	ExportURL string
}

func (c *Console) queueExtras(ctx context.Context, v *visit, query string) (queueExtras, error) {
	x := queueExtras{ExportURL: "/reports.csv?" + query}
	var err error
	if x.Orgs, _, err = c.orgNames(ctx); err != nil {
		return x, err
	}
	if v.can(auth.HandleIncidents) {
		x.Users, err = c.handlers(ctx)
	}
	return x, err
}

// csvDownload starts a CSV download named after prefix and the time;
// every cell written through the returned function is defused against
// formulas (export.Defuse).
func (c *Console) csvDownload(w http.ResponseWriter, prefix string) (*csv.Writer, func([]string) error) {
	name := prefix + "-" + c.now().UTC().Format("20060102T150405Z") + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	cw := csv.NewWriter(w)
	return cw, func(cells []string) error {
		for i, s := range cells {
			cells[i] = export.Defuse(s)
		}
		return cw.Write(cells)
	}
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// exportIncidents writes the incidents of the list's search as CSV, at
// most exportRows of them.
func (c *Console) exportIncidents(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	s, q := parseIncidentSearch(r.URL.Query(), v.user.ID, c.now())
	q.Limit = exportRows
	page, err := c.store.ListIncidents(ctx, q)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	_, names, err := c.orgNames(ctx)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(ctx, v, "incident.export", "incidents", s.values().Encode())
	cw, row := c.csvDownload(w, "vigil-incidents")
	row([]string{"tag", "title", "status", "kind", "severity", "tlp", "pap", "taxonomy", "type", "assignee",
		"organisations", "reports", "created", "updated", "due", "closed"})
	for _, inc := range page.Incidents {
		orgs := make([]string, 0, len(inc.OrgIDs))
		for _, id := range inc.OrgIDs {
			orgs = append(orgs, names[id])
		}
		row([]string{inc.Tag.String(), inc.Title, string(inc.Status), string(inc.Kind), string(inc.Severity), string(inc.TLP),
			string(inc.PAP), inc.Taxonomy, inc.Type, inc.Assignee, strings.Join(orgs, "; "), strconv.Itoa(inc.Reports),
			csvTime(inc.Created), csvTime(inc.Updated), csvTime(inc.Due), csvTime(inc.Closed)})
	}
	c.endExport(cw, v, len(page.Incidents), page.Total, page.More)
}

// endExport writes a last line when the search selects more rows than
// the export holds, and flushes.
func (c *Console) endExport(cw *csv.Writer, v *visit, rows, total int, more bool) {
	if more || total > rows {
		cw.Write([]string{c.tr(v, "cases.views.export.cut", c.catalog.Number(v.lang, rows))})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		c.logger.Error("list export", "user", v.user.Name, "err", err)
	}
}

// exportReports writes the reports of the queue's search as CSV, at
// most exportRows of them.
func (c *Console) exportReports(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	qv := r.URL.Query()
	_, q := parseReportSearch(qv)
	// The reports are read a page at a time: a report's text may be
	// 256 KiB, and the export holds up to exportRows of them.
	q.Limit = min(exportReportsPage, exportRows)
	page, err := c.store.ListReports(ctx, q)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	_, names, err := c.orgNames(ctx)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(ctx, v, "report.export", "reports", keep(qv, reportSearchKeys, "").Encode())
	cw, row := c.csvDownload(w, "vigil-reports")
	row([]string{"tracking", "received", "state", "kind", "channel", "reporter", "email", "phone", "organisation",
		"subject", "concerned", "text", "incident"})
	rows := 0
	for {
		for _, rep := range page.Reports {
			inc := ""
			if rep.IncidentID != 0 {
				inc = strconv.FormatInt(rep.IncidentID, 10)
			}
			row([]string{rep.Tracking, csvTime(rep.Received), string(rep.State), string(rep.Kind), string(rep.Channel),
				rep.Reporter.Name, rep.Reporter.Email, rep.Reporter.Phone, names[rep.Reporter.OrgID],
				rep.Subject, rep.Concerned, rep.Text, inc})
		}
		rows += len(page.Reports)
		if len(page.Reports) < q.Limit || rows >= exportRows {
			break
		}
		q.Offset += q.Limit
		q.Limit = min(exportReportsPage, exportRows-rows)
		next, err := c.store.ListReports(ctx, q)
		if err != nil {
			// The download has begun: it ends here, and the log says why.
			c.logger.Error("report export", "user", v.user.Name, "err", err)
			break
		}
		page.Reports = next.Reports
	}
	c.endExport(cw, v, rows, page.Total, page.More)
}

// exportReportsPage is how many reports the export reads at a time (a
// variable for the tests).
var exportReportsPage = 200

// assignee reads the bulk form's account: 0 and "" for nobody, the
// visitor for "me", otherwise one of the accounts that handle
// incidents.
func (c *Console) assignee(r *http.Request, v *visit) (int64, string, error) {
	who := r.PostFormValue("assignee")
	if who == "" {
		return 0, "", nil
	}
	id := v.user.ID
	if who != "me" {
		var err error
		if id, err = strconv.ParseInt(who, 10, 64); err != nil {
			return 0, "", refuse(msgIncidentBadUser)
		}
	}
	users, err := c.handlers(r.Context())
	if err != nil {
		return 0, "", err
	}
	i := slices.IndexFunc(users, func(u auth.User) bool { return u.ID == id })
	if i < 0 {
		return 0, "", refuse(msgIncidentBadUser)
	}
	return id, users[i].Name, nil
}

// assignAll gives each incident to the account of the form, through the
// service (a timeline line and an audit entry each).
func (c *Console) assignAll(r *http.Request, v *visit, ids []int64) error {
	id, name, err := c.assignee(r, v)
	if err != nil {
		return err
	}
	for _, inc := range ids {
		if _, err := c.cases().Assign(r.Context(), actorOf(v), inc, id, name); err != nil {
			return err
		}
	}
	return nil
}

// bulkAssignIncidents assigns the incidents ticked on the list.
func (c *Console) bulkAssignIncidents(w http.ResponseWriter, r *http.Request, v *visit) {
	back := "/incidents"
	if q := r.PostFormValue("back"); q != "" {
		back += "?" + q
	}
	var ids []int64
	for _, s := range r.PostForm["incident"] {
		tag, err := incident.ParseTag(s)
		if err != nil {
			ids = nil
			break
		}
		inc, err := c.store.GetIncidentByTag(r.Context(), tag)
		if errors.Is(err, store.ErrNotFound) {
			ids = nil
			break
		} else if err != nil {
			c.fail(w, r, v, err)
			return
		}
		ids = append(ids, inc.ID)
	}
	err := refuse(msgNoIncidentsTicked)
	if len(ids) > 0 {
		err = c.assignAll(r, v, ids)
	}
	if text := c.inputText(v, err); text != "" {
		// The list again, as it was, with the problem.
		r.URL.RawQuery = r.PostFormValue("back")
		c.showIncidents(w, r, v, http.StatusBadRequest, "", text)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	redirectDone(w, r, back, "incidents-assigned")
}

// bulkAssignReports assigns the incidents of the reports ticked in the
// queue, each once.
func (c *Console) bulkAssignReports(w http.ResponseWriter, r *http.Request, v *visit) {
	c.reportAction(w, r, v, func(ids []int64) (string, error) {
		var incs []int64
		for _, id := range ids {
			rep, err := c.store.GetReport(r.Context(), id)
			if err != nil {
				return "", err
			}
			if rep.IncidentID != 0 && !slices.Contains(incs, rep.IncidentID) {
				incs = append(incs, rep.IncidentID)
			}
		}
		if len(incs) == 0 {
			return "", refuse(msgReportsNoIncident)
		}
		if err := c.assignAll(r, v, incs); err != nil {
			return "", err
		}
		back := "/reports"
		if q := r.PostFormValue("back"); q != "" {
			back += "?" + q
		}
		return back + sep(back) + "done=incidents-assigned", nil
	})
}
