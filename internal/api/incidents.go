package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// incidentListParams are the query parameters of GET /incidents.
var incidentListParams = []string{"status", "severity", "assignee", "overdue", "q", "observable", "organisation",
	"from", "to", "sort", "limit", "offset"}

// maxLinkedReports is how many of an incident's reports GET
// /incidents/{tag} shows, the newest first; GET /reports?incident=TAG
// pages through all of them.
const maxLinkedReports = 200

// incidentJSON is an incident as the API shows it.
type incidentJSON struct {
	ID            int64                `json:"id"`
	Tag           string               `json:"tag"`
	Title         string               `json:"title"`
	Kind          incident.Kind        `json:"kind"`
	Taxonomy      string               `json:"taxonomy"`
	Type          string               `json:"type"`
	TLP           incident.TLP         `json:"tlp"`
	PAP           incident.PAP         `json:"pap"`
	Severity      incident.Severity    `json:"severity"`
	Impact        string               `json:"impact,omitempty"`
	Organisations []int64              `json:"organisations"`
	AssigneeID    int64                `json:"assignee_id,omitempty"`
	Assignee      string               `json:"assignee,omitempty"`
	Status        incident.Status      `json:"status"`
	StatusReason  string               `json:"status_reason,omitempty"`
	Created       time.Time            `json:"created"`
	Updated       time.Time            `json:"updated"`
	Due           *time.Time           `json:"due,omitempty"`
	Closed        *time.Time           `json:"closed,omitempty"`
	Overdue       bool                 `json:"overdue"`
	Reports       int                  `json:"reports"`
	Observables   []extract.Observable `json:"observables"`
	Attachments   []fileRefJSON        `json:"attachments"`
	MergedInto    int64                `json:"merged_into,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func toIncidentJSON(inc incident.Incident, now time.Time) incidentJSON {
	return incidentJSON{ID: inc.ID, Tag: inc.Tag.String(), Title: inc.Title, Kind: inc.Kind, Taxonomy: inc.Taxonomy,
		Type: inc.Type, TLP: inc.TLP, PAP: inc.PAP, Severity: inc.Severity, Impact: inc.Impact,
		Organisations: nonNil(inc.OrgIDs), AssigneeID: inc.AssigneeID, Assignee: inc.Assignee, Status: inc.Status,
		StatusReason: inc.StatusReason, Created: inc.Created.UTC(), Updated: inc.Updated.UTC(), Due: timePtr(inc.Due),
		Closed: timePtr(inc.Closed), Overdue: inc.Overdue(now), Reports: inc.Reports,
		Observables: nonNil(inc.Observables), Attachments: toAttachments(inc.Attachments), MergedInto: inc.MergedInto}
}

// incidentPageJSON is one page of incidents, counted as reports are.
type incidentPageJSON struct {
	Incidents []incidentJSON `json:"incidents"`
	Total     int            `json:"total"`
	More      bool           `json:"more"`
}

// taskJSON is one task of an incident.
type taskJSON struct {
	ID       int64      `json:"id"`
	Title    string     `json:"title"`
	Playbook string     `json:"playbook,omitempty"`
	Step     string     `json:"step,omitempty"`
	Done     bool       `json:"done"`
	By       string     `json:"by,omitempty"`
	At       *time.Time `json:"at,omitempty"`
	Created  time.Time  `json:"created"`
}

func toTaskJSON(t incident.Task) taskJSON {
	return taskJSON{ID: t.ID, Title: t.Title, Playbook: t.Playbook, Step: t.Step, Done: t.Done, By: t.By,
		At: timePtr(t.At), Created: t.Created.UTC()}
}

// entryJSON is one line of an incident's timeline.
type entryJSON struct {
	ID      int64              `json:"id"`
	At      time.Time          `json:"at"`
	Actor   string             `json:"actor,omitempty"`
	Kind    incident.EntryKind `json:"kind"`
	Text    string             `json:"text,omitempty"`
	Details map[string]string  `json:"details,omitempty"`
}

func toEntryJSON(e incident.Entry) entryJSON {
	return entryJSON{ID: e.ID, At: e.At.UTC(), Actor: e.Actor, Kind: e.Kind, Text: e.Text, Details: e.Details}
}

// incidentDetailJSON is an incident with its reports, tasks and timeline.
type incidentDetailJSON struct {
	incidentJSON
	LinkedReports []reportJSON `json:"linked_reports"`
	Tasks         []taskJSON   `json:"tasks"`
	Timeline      []entryJSON  `json:"timeline"`
}

func (h *handler) listIncidents(r *http.Request, _ *caller) (any, error) {
	values := r.URL.Query()
	if err := checkParams(values, incidentListParams); err != nil {
		return nil, err
	}
	q, err := h.incidentQuery(r, values)
	if err != nil {
		return nil, err
	}
	page, err := h.store.ListIncidents(r.Context(), q)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	now := time.Now()
	out := incidentPageJSON{Incidents: []incidentJSON{}, Total: page.Total, More: page.More}
	for _, inc := range page.Incidents {
		out.Incidents = append(out.Incidents, toIncidentJSON(inc, now))
	}
	return out, nil
}

// incidentQuery reads the filters of GET /incidents.
func (h *handler) incidentQuery(r *http.Request, values url.Values) (incident.IncidentQuery, error) {
	q := incident.IncidentQuery{Text: values.Get("q"), Observable: values.Get("observable")}
	var err error
	if q.Statuses, err = listParam(values, "status", incident.Status.Valid, names(incident.Statuses)); err != nil {
		return q, err
	}
	if q.Severities, err = listParam(values, "severity", incident.Severity.Valid, names(incident.Severities)); err != nil {
		return q, err
	}
	if q.From, q.To, err = timeRange(values); err != nil {
		return q, err
	}
	if v := values.Get("overdue"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return q, badParameterText("overdue", i18n.M("api.error.param.bool", "overdue"))
		}
		if b {
			q.OverdueAt = time.Now()
		}
	}
	switch v := values.Get("assignee"); v {
	case "":
	case "none":
		q.Unassigned = true
	default:
		u, err := h.store.GetUserByName(r.Context(), v)
		if errors.Is(err, store.ErrNotFound) {
			return q, badParameterText("assignee", i18n.M("api.error.incident.assignee", v))
		} else if err != nil {
			return q, fmt.Errorf("find the assignee: %w", err)
		}
		q.AssigneeID = u.ID
	}
	if v := values.Get("organisation"); v != "" {
		if q.OrgID, err = h.organisationID(r, v); err != nil {
			return q, err
		}
	}
	switch v := incident.IncidentSort(values.Get("sort")); v {
	case "", incident.SortUpdated, incident.SortDue, incident.SortCreated:
		q.Sort = v
	default:
		return q, badParameterText("sort", i18n.M("api.error.incident.choice", "sort", "updated, due, created"))
	}
	q.Limit, q.Offset, err = pageParams(values)
	return q, err
}

// organisationID finds an organisation by its id or its handle.
func (h *handler) organisationID(r *http.Request, v string) (int64, error) {
	ctx := r.Context()
	var err error
	if id, perr := strconv.ParseInt(v, 10, 64); perr == nil && id > 0 {
		_, err = h.store.GetOrganisation(ctx, id)
		if err == nil {
			return id, nil
		}
	} else {
		org, gerr := h.store.GetOrganisationByHandle(ctx, v)
		if gerr == nil {
			return org.ID, nil
		}
		err = gerr
	}
	if errors.Is(err, store.ErrNotFound) {
		return 0, badParameterText("organisation", i18n.M("api.error.incident.organisation", "organisation", v))
	}
	return 0, fmt.Errorf("find the organisation: %w", err)
}

// pathIncident loads the incident of the {tag} in the path.
func (h *handler) pathIncident(r *http.Request) (incident.Incident, error) {
	tag, err := incident.ParseTag(r.PathValue("tag"))
	if err != nil {
		return incident.Incident{}, badParameterText("tag", i18n.M("api.error.incident.tag", "tag", r.PathValue("tag")))
	}
	inc, err := h.store.GetIncidentByTag(r.Context(), tag)
	if err != nil {
		return inc, notFoundAs(err, "api.error.incident.notfound", "get incident "+tag.String())
	}
	return inc, nil
}

func (h *handler) getIncident(r *http.Request, _ *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	inc, err := h.pathIncident(r)
	if err != nil {
		return nil, err
	}
	return h.incidentDetail(r, inc)
}

// incidentDetail reads what GET /incidents/{tag} shows of inc.
func (h *handler) incidentDetail(r *http.Request, inc incident.Incident) (incidentDetailJSON, error) {
	ctx := r.Context()
	out := incidentDetailJSON{incidentJSON: toIncidentJSON(inc, time.Now()),
		LinkedReports: []reportJSON{}, Tasks: []taskJSON{}, Timeline: []entryJSON{}}
	page, err := h.store.ListReports(ctx, incident.ReportQuery{IncidentID: inc.ID, Limit: maxLinkedReports})
	if err != nil {
		return out, fmt.Errorf("list the incident's reports: %w", err)
	}
	for _, rep := range page.Reports {
		out.LinkedReports = append(out.LinkedReports, toReportJSON(rep))
	}
	tasks, err := h.store.Tasks(ctx, inc.ID)
	if err != nil {
		return out, fmt.Errorf("list the incident's tasks: %w", err)
	}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, toTaskJSON(t))
	}
	entries, err := h.store.Timeline(ctx, inc.ID)
	if err != nil {
		return out, fmt.Errorf("read the incident's timeline: %w", err)
	}
	for _, e := range entries {
		out.Timeline = append(out.Timeline, toEntryJSON(e))
	}
	return out, nil
}

// incidentFields are the fields of an incident a body sets: all of them
// on POST /incidents, those present on PATCH.
type incidentFields struct {
	Title         *string            `json:"title"`
	Kind          *incident.Kind     `json:"kind"`
	Type          *string            `json:"type"`
	TLP           *incident.TLP      `json:"tlp"`
	PAP           *incident.PAP      `json:"pap"`
	Severity      *incident.Severity `json:"severity"`
	Impact        *string            `json:"impact"`
	Organisations *[]int64           `json:"organisations"`
	// Assignee is an account's login name; "" gives the incident to
	// nobody.
	Assignee *string `json:"assignee"`
}

// newIncidentInput is the body of POST /incidents.
type newIncidentInput struct {
	incidentFields
	// Reports are the ids of reports of the triage queue it is opened from.
	Reports []int64 `json:"reports"`
	// Events are the hashes of events it is opened from (not with
	// reports).
	Events []string `json:"events"`
}

// checkFields refuses a field no incident can have, naming it.
func (h *handler) checkFields(r *http.Request, f incidentFields) error {
	if f.Kind != nil && !f.Kind.Valid() {
		return badParameterText("kind", i18n.M("api.error.incident.choice", "kind", names(incident.Kinds)))
	}
	if f.Type != nil {
		if _, ok := taxonomy.TaxonomyOf(*f.Type); !ok {
			return badParameterText("type", i18n.M("api.error.incident.type", *f.Type))
		}
	}
	if f.TLP != nil && !f.TLP.Valid() {
		return badParameterText("tlp", i18n.M("api.error.incident.choice", "tlp", names(incident.TLPs)))
	}
	if f.PAP != nil && !f.PAP.Valid() {
		return badParameterText("pap", i18n.M("api.error.incident.choice", "pap", names(incident.PAPs)))
	}
	if f.Severity != nil && !f.Severity.Valid() {
		return badParameterText("severity", i18n.M("api.error.incident.choice", "severity", names(incident.Severities)))
	}
	if f.Organisations != nil {
		for _, id := range *f.Organisations {
			if _, err := h.store.GetOrganisation(r.Context(), id); errors.Is(err, store.ErrNotFound) || id < 1 {
				return badParameterText("organisations", i18n.M("api.error.incident.organisation", "organisations", strconv.FormatInt(id, 10)))
			} else if err != nil {
				return fmt.Errorf("find an organisation: %w", err)
			}
		}
	}
	return nil
}

// assignee finds the team account named; nil for "" (nobody).
func (h *handler) assignee(r *http.Request, name string) (*auth.User, error) {
	if name == "" {
		return nil, nil
	}
	u, err := h.store.GetUserByName(r.Context(), name)
	if err == nil && !u.Disabled && auth.Can(u.Role, auth.HandleIncidents) {
		return &u, nil
	}
	if err == nil || errors.Is(err, store.ErrNotFound) {
		return nil, badParameterText("assignee", i18n.M("api.error.incident.assignee", name))
	}
	return nil, fmt.Errorf("find the assignee: %w", err)
}

func (h *handler) createIncident(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	var in newIncidentInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if err := h.checkFields(r, in.incidentFields); err != nil {
		return nil, err
	}
	if len(in.Reports) > 0 && len(in.Events) > 0 {
		return nil, badParameterText("events", i18n.M("api.error.incident.events.reports"))
	}
	switch {
	case len(in.Reports) > 0:
		if err := checkIDs(in.Reports, "reports"); err != nil {
			return nil, err
		}
	case len(in.Events) > 0:
		// Opened from events, it is titled after the first unless given
		// a title.
	case in.Title == nil || strings.TrimSpace(*in.Title) == "":
		return nil, badParameterText("title", i18n.M("api.error.incident.title"))
	}
	var who *auth.User
	if in.Assignee != nil {
		var err error
		if who, err = h.assignee(r, *in.Assignee); err != nil {
			return nil, err
		}
	}
	ctx := r.Context()
	draft, err := h.draft(r, in)
	if err != nil {
		return nil, err
	}
	svc := h.service(c)
	var inc incident.Incident
	if len(in.Events) > 0 {
		inc, _, err = h.eventService(c).OpenFromEvents(ctx, actorOf(c), draft, in.Events)
	} else {
		inc, err = svc.CreateIncident(ctx, actorOf(c), draft, in.Reports)
	}
	if err != nil {
		return nil, err
	}
	if who != nil {
		if inc, err = svc.Assign(ctx, actorOf(c), inc.ID, who.ID, who.Name); err != nil {
			return nil, err
		}
	}
	detail, err := h.incidentDetail(r, inc)
	if err != nil {
		return nil, err
	}
	return created{location: "/api/v1/incidents/" + inc.Tag.String(), value: detail}, nil
}

// draft is the incident a POST /incidents body describes. Opened from
// reports without a title, it is titled by its first report.
func (h *handler) draft(r *http.Request, in newIncidentInput) (incident.Incident, error) {
	f := in.incidentFields
	d := incident.Incident{}
	if f.Title != nil {
		d.Title = strings.TrimSpace(*f.Title)
	}
	if f.Kind != nil {
		d.Kind = *f.Kind
	}
	if f.Type != nil {
		d.Type = *f.Type
		d.Taxonomy, _ = taxonomy.TaxonomyOf(*f.Type)
	}
	if f.TLP != nil {
		d.TLP = *f.TLP
	}
	if f.PAP != nil {
		d.PAP = *f.PAP
	}
	if f.Severity != nil {
		d.Severity = *f.Severity
	}
	if f.Impact != nil {
		d.Impact = *f.Impact
	}
	if f.Organisations != nil {
		d.OrgIDs = *f.Organisations
	}
	if d.Title == "" && len(in.Reports) > 0 {
		rep, err := h.store.GetReport(r.Context(), in.Reports[0])
		if err != nil {
			return d, notFoundAs(err, "api.error.report.notfound", "get report")
		}
		d.Title = (&incident.Service{}).ReportTitle("", rep)
	}
	return d, nil
}

func (h *handler) updateIncident(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	inc, err := h.pathIncident(r)
	if err != nil {
		return nil, err
	}
	var in incidentFields
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.Kind != nil {
		return nil, badParameterText("kind", i18n.M("api.error.incident.kind"))
	}
	if err := h.checkFields(r, in); err != nil {
		return nil, err
	}
	var who *auth.User
	if in.Assignee != nil {
		if who, err = h.assignee(r, *in.Assignee); err != nil {
			return nil, err
		}
	}
	ctx := r.Context()
	svc := h.service(c)
	change := incident.Change{Title: in.Title, Type: in.Type, TLP: in.TLP, PAP: in.PAP, Severity: in.Severity,
		Impact: in.Impact, OrgIDs: in.Organisations}
	if inc, err = svc.Update(ctx, actorOf(c), inc.ID, change); err != nil {
		return nil, err
	}
	if in.Assignee != nil {
		id, name := int64(0), ""
		if who != nil {
			id, name = who.ID, who.Name
		}
		if id != inc.AssigneeID {
			if inc, err = svc.Assign(ctx, actorOf(c), inc.ID, id, name); err != nil {
				return nil, err
			}
		}
	}
	return toIncidentJSON(inc, time.Now()), nil
}
