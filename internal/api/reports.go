package api

import (
	"context"
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
)

// The reports and incidents routes are the team's: analysts and
// administrators read them and work on them, as in the console; a
// constituent's or a publisher's token gets 403.
var (
	incidentReaders  = allowed(auth.ReadIncidents)
	incidentHandlers = allowed(auth.HandleIncidents)
)

// reportListParams are the query parameters of GET /reports.
var reportListParams = []string{"state", "kind", "channel", "incident", "q", "observable", "from", "to", "sort", "limit", "offset"}

const (
	defaultIncidentPage = 50
	maxIncidentPage     = 1000
	// maxReportIDs bounds the ids of one request (a close, a link, a new
	// incident): a page of the triage queue is far less.
	maxReportIDs = 1000
)

// reportJSON is a report as the API shows it. The status token is never
// shown: only its hash is kept.
type reportJSON struct {
	ID          int64                `json:"id"`
	Tracking    string               `json:"tracking"`
	Channel     incident.Channel     `json:"channel"`
	Kind        incident.Kind        `json:"kind"`
	Received    time.Time            `json:"received"`
	Reporter    incident.Reporter    `json:"reporter"`
	Language    string               `json:"language,omitempty"`
	Subject     string               `json:"subject,omitempty"`
	Text        string               `json:"text"`
	Concerned   string               `json:"concerned,omitempty"`
	Observables []extract.Observable `json:"observables"`
	Attachments []fileRefJSON        `json:"attachments"`
	State       incident.ReportState `json:"state"`
	CloseReason string               `json:"close_reason,omitempty"`
	IncidentID  int64                `json:"incident_id,omitempty"`
	SplitFrom   int64                `json:"split_from,omitempty"`
}

// fileRefJSON is a reference to an attachment's content.
type fileRefJSON struct {
	SHA256      string `json:"sha256"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

func toAttachments(as []incident.Attachment) []fileRefJSON {
	out := []fileRefJSON{}
	for _, a := range as {
		out = append(out, fileRefJSON{SHA256: a.SHA256, Name: a.Name, ContentType: a.ContentType, Size: a.Size})
	}
	return out
}

func toReportJSON(r incident.Report) reportJSON {
	return reportJSON{ID: r.ID, Tracking: r.Tracking, Channel: r.Channel, Kind: r.Kind, Received: r.Received.UTC(),
		Reporter: r.Reporter, Language: r.Language, Subject: r.Subject, Text: r.Text, Concerned: r.Concerned,
		Observables: nonNil(r.Observables), Attachments: toAttachments(r.Attachments), State: r.State,
		CloseReason: r.CloseReason, IncidentID: r.IncidentID, SplitFrom: r.SplitFrom}
}

// reportPageJSON is one page of reports and how many the query selects:
// the exact number up to 10,000, when more is false.
type reportPageJSON struct {
	Reports []reportJSON `json:"reports"`
	Total   int          `json:"total"`
	More    bool         `json:"more"`
}

// listParam splits a comma-separated parameter and checks each value.
func listParam[T ~string](values url.Values, name string, valid func(T) bool, choices string) ([]T, error) {
	v := values.Get(name)
	if v == "" {
		return nil, nil
	}
	var out []T
	for _, s := range strings.Split(v, ",") {
		t := T(strings.TrimSpace(s))
		if !valid(t) {
			return nil, badParameterText(name, i18n.M("api.error.incident.choice", name, choices))
		}
		out = append(out, t)
	}
	return out, nil
}

// names joins the values of a list of choices for a message.
func names[T ~string](all []T) string {
	var s []string
	for _, v := range all {
		s = append(s, string(v))
	}
	return strings.Join(s, ", ")
}

// timeParam reads a time given as RFC 3339 or as a date (midnight UTC).
func timeParam(values url.Values, name string) (time.Time, error) {
	v := values.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, badParameterText(name, i18n.M("api.error.incident.time", name))
}

// pageParams reads limit and offset.
func pageParams(values url.Values) (limit, offset int, err error) {
	l, err := intParam(values, "limit", defaultIncidentPage, maxIncidentPage)
	if err != nil {
		return 0, 0, err
	}
	if v := values.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > incident.CountLimit {
			return 0, 0, badParameterText("offset", i18n.M("api.error.incident.offset", incident.CountLimit))
		}
		offset = n
	}
	return int(l), offset, nil
}

// timeRange reads from and to, to after from.
func timeRange(values url.Values) (from, to time.Time, err error) {
	if from, err = timeParam(values, "from"); err != nil {
		return
	}
	if to, err = timeParam(values, "to"); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		err = badParameterText("to", i18n.M("api.error.incident.range"))
	}
	return
}

func (h *handler) listReports(r *http.Request, _ *caller) (any, error) {
	values := r.URL.Query()
	if err := checkParams(values, reportListParams); err != nil {
		return nil, err
	}
	q := incident.ReportQuery{Text: values.Get("q"), Observable: values.Get("observable")}
	var err error
	if q.States, err = listParam(values, "state", incident.ReportState.Valid, names(incident.ReportStates)); err != nil {
		return nil, err
	}
	if q.Kinds, err = listParam(values, "kind", incident.Kind.Valid, names(incident.Kinds)); err != nil {
		return nil, err
	}
	if q.Channels, err = listParam(values, "channel", incident.Channel.Valid, names(incident.Channels)); err != nil {
		return nil, err
	}
	if q.From, q.To, err = timeRange(values); err != nil {
		return nil, err
	}
	if v := values.Get("incident"); v != "" {
		tag, err := incident.ParseTag(v)
		if err != nil {
			return nil, badParameterText("incident", i18n.M("api.error.incident.tag", "incident", v))
		}
		inc, err := h.store.GetIncidentByTag(r.Context(), tag)
		if errors.Is(err, store.ErrNotFound) {
			return nil, badParameterText("incident", i18n.M("api.error.incident.unknown", v))
		} else if err != nil {
			return nil, fmt.Errorf("get incident %s: %w", tag, err)
		}
		q.IncidentID = inc.ID
	}
	switch values.Get("sort") {
	case "", "newest":
	case "oldest":
		q.Oldest = true
	default:
		return nil, badParameterText("sort", i18n.M("api.error.incident.choice", "sort", "newest, oldest"))
	}
	if q.Limit, q.Offset, err = pageParams(values); err != nil {
		return nil, err
	}
	page, err := h.store.ListReports(r.Context(), q)
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	out := reportPageJSON{Reports: []reportJSON{}, Total: page.Total, More: page.More}
	for _, rep := range page.Reports {
		out.Reports = append(out.Reports, toReportJSON(rep))
	}
	return out, nil
}

// pathReport loads the report of the {id} in the path.
func (h *handler) pathReport(r *http.Request) (incident.Report, error) {
	id, err := pathID(r)
	if err != nil {
		return incident.Report{}, err
	}
	rep, err := h.store.GetReport(r.Context(), id)
	if err != nil {
		return rep, notFoundAs(err, "api.error.report.notfound", fmt.Sprintf("get report %d", id))
	}
	return rep, nil
}

func (h *handler) getReport(r *http.Request, _ *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	rep, err := h.pathReport(r)
	if err != nil {
		return nil, err
	}
	return toReportJSON(rep), nil
}

// reportInput is the body of POST /reports: a report the team logs, such
// as a phone call.
type reportInput struct {
	Channel   incident.Channel  `json:"channel"`
	Kind      incident.Kind     `json:"kind"`
	Received  *time.Time        `json:"received"`
	Reporter  incident.Reporter `json:"reporter"`
	Language  string            `json:"language"`
	Subject   string            `json:"subject"`
	Text      string            `json:"text"`
	Concerned string            `json:"concerned"`
	// Observables, when absent, are found in the text, the subject and
	// the URL or sender concerned (extract.Find).
	Observables *[]extract.Observable `json:"observables"`
}

// receiptJSON is what logging a report gives back.
type receiptJSON struct {
	Report reportJSON `json:"report"`
	// StatusToken is the reporter's private status token, given once.
	StatusToken string `json:"status_token"`
	// Incident is the tag of the incident the report was grouped onto.
	Incident string `json:"incident,omitempty"`
	Opened   bool   `json:"opened"`
}

// newReport is the report a body describes, its observables found when
// the body gives none.
func newReport(in reportInput) *incident.Report {
	rep := &incident.Report{Channel: in.Channel, Kind: in.Kind, Reporter: in.Reporter, Language: in.Language,
		Subject: in.Subject, Text: in.Text, Concerned: in.Concerned}
	if in.Received != nil {
		rep.Received = *in.Received
	}
	if in.Observables != nil {
		rep.Observables = *in.Observables
	} else {
		rep.Observables = extract.Find(strings.Join([]string{in.Subject, in.Concerned, in.Text}, "\n"))
	}
	return rep
}

func (h *handler) createReport(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	var in reportInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Text) == "" {
		return nil, badParameterText("text", i18n.M("api.error.report.text"))
	}
	if in.Reporter.OrgID != 0 {
		if _, err := h.store.GetOrganisation(r.Context(), in.Reporter.OrgID); err != nil {
			return nil, notFoundAs(err, "api.error.org.notfound", "get organisation")
		}
	}
	ctx := r.Context()
	receipt, err := h.service(c).Receive(ctx, newReport(in))
	if err != nil {
		return nil, err
	}
	rep, err := h.store.GetReport(ctx, receipt.ReportID)
	if err != nil {
		return nil, fmt.Errorf("read the new report: %w", err)
	}
	h.audit(ctx, c, "report.create", receipt.Tracking, string(rep.Channel)+", "+string(rep.Kind))
	out := receiptJSON{Report: toReportJSON(rep), StatusToken: receipt.Token, Opened: receipt.Opened}
	if !receipt.Tag.IsZero() {
		out.Incident = receipt.Tag.String()
	}
	return created{location: "/api/v1/reports/" + strconv.FormatInt(rep.ID, 10), value: out}, nil
}

// closeReportsInput is the body of POST /reports/close.
type closeReportsInput struct {
	IDs    []int64 `json:"ids"`
	Reason string  `json:"reason"`
}

// countJSON says how many of the things named a request changed.
type countJSON struct {
	Changed int `json:"changed"`
	Of      int `json:"of"`
}

func (h *handler) closeReports(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	var in closeReportsInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if err := checkIDs(in.IDs, "ids"); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Reason) == "" {
		return nil, badParameterText("reason", i18n.M("api.error.report.reason"))
	}
	n, err := h.service(c).CloseReports(r.Context(), actorOf(c), in.IDs, in.Reason)
	if err != nil {
		return nil, err
	}
	return countJSON{Changed: n, Of: len(in.IDs)}, nil
}

// checkIDs refuses an empty or too long list of ids, or one that is not
// positive.
func checkIDs(ids []int64, field string) error {
	if len(ids) == 0 || len(ids) > maxReportIDs {
		return badParameterText(field, i18n.M("api.error.incident.ids", field, maxReportIDs))
	}
	for _, id := range ids {
		if id < 1 {
			return badParameterText(field, i18n.M("api.error.incident.ids", field, maxReportIDs))
		}
	}
	return nil
}

// actorOf is the caller as the incidents' timeline and audit name it.
func actorOf(c *caller) incident.Actor {
	return incident.Actor{UserID: c.user.ID, Name: c.user.Name}
}

// service is the team's case handling over the API's store: each
// operation writes its timeline and its audit entry, which says, as every
// write of the API does, that it came through the caller's token.
func (h *handler) service(c *caller) *incident.Service {
	return &incident.Service{Store: h.store, Audit: viaToken{log: h.store, token: c.token.ID}}
}

// viaToken adds "API token N" to the details of the audit entries it
// writes.
type viaToken struct {
	log   auth.AuditLog
	token int64
}

func (v viaToken) AddAudit(ctx context.Context, e auth.AuditEntry) error {
	via := fmt.Sprintf("API token %d", v.token)
	if e.Detail == "" {
		e.Detail = via
	} else {
		e.Detail += " (" + via + ")"
	}
	return v.log.AddAudit(ctx, e)
}

// notFoundAs turns store.ErrNotFound into a 404 saying id; any other error
// is wrapped with what was being done.
func notFoundAs(err error, id, doing string) error {
	if errors.Is(err, store.ErrNotFound) {
		return errorText(http.StatusNotFound, "not_found", "", i18n.M(id))
	}
	return fmt.Errorf("%s: %w", doing, err)
}
