package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
)

// The constituent's incidents (issue 12): a constituent organisation's
// tokens report incidents and follow them, as its portal does. What they
// are shown is decided in package incident (ConstituentIncidents and its
// siblings, the rule in docs/INCIDENTS.md), for the organisation of the
// token's user; nothing in the request names one, and an incident the
// organisation may not see answers exactly like a missing one.

// constituentIncidentJSON is what a constituent is shown of an incident.
type constituentIncidentJSON struct {
	Tag    string          `json:"tag"`
	Title  string          `json:"title"`
	Status incident.Status `json:"status"`
	// StatusReason is given for a resolved or closed incident only.
	StatusReason string    `json:"status_reason,omitempty"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
	// Reports are the organisation's own reports on it (the detail only).
	Reports []constituentReportJSON `json:"reports,omitempty"`
}

// constituentReportJSON is what a constituent is shown of its own report.
type constituentReportJSON struct {
	Tracking string               `json:"tracking"`
	Channel  incident.Channel     `json:"channel"`
	Kind     incident.Kind        `json:"kind"`
	Received time.Time            `json:"received"`
	Subject  string               `json:"subject,omitempty"`
	State    incident.ReportState `json:"state"`
	// Incident is the tag of its incident when the organisation may see
	// that incident.
	Incident string `json:"incident,omitempty"`
}

type constituentIncidentPageJSON struct {
	Incidents []constituentIncidentJSON `json:"incidents"`
	Total     int                       `json:"total"`
	More      bool                      `json:"more"`
}

type constituentReportPageJSON struct {
	Reports []constituentReportJSON `json:"reports"`
	Total   int                     `json:"total"`
	More    bool                    `json:"more"`
}

func toConstituentIncidentJSON(inc incident.ConstituentIncident) constituentIncidentJSON {
	out := constituentIncidentJSON{Tag: inc.Tag.String(), Title: inc.Title, Status: inc.Status, StatusReason: inc.StatusReason,
		Created: inc.Created.UTC(), Updated: inc.Updated.UTC()}
	for _, r := range inc.Reports {
		out.Reports = append(out.Reports, toConstituentReportJSON(r))
	}
	return out
}

func toConstituentReportJSON(r incident.ConstituentReport) constituentReportJSON {
	out := constituentReportJSON{Tracking: r.Tracking, Channel: r.Channel, Kind: r.Kind, Received: r.Received.UTC(),
		Subject: r.Subject, State: r.State}
	if !r.Incident.IsZero() {
		out.Incident = r.Incident.String()
	}
	return out
}

func (h *handler) constituentIncidents(r *http.Request, c *caller) (any, error) {
	org, err := h.organisationOf(r, c)
	if err != nil {
		return nil, err
	}
	values := r.URL.Query()
	if err := checkParams(values, []string{"limit", "offset"}); err != nil {
		return nil, err
	}
	limit, offset, err := pageParams(values)
	if err != nil {
		return nil, err
	}
	page, err := incident.ConstituentIncidents(r.Context(), h.store, org.ID, limit, offset)
	if err != nil {
		return nil, err
	}
	out := constituentIncidentPageJSON{Incidents: []constituentIncidentJSON{}, Total: page.Total, More: page.More}
	for _, inc := range page.Items {
		out.Incidents = append(out.Incidents, toConstituentIncidentJSON(inc))
	}
	return out, nil
}

var errConstituentIncidentNotFound = errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.incident.notfound"))

func (h *handler) constituentIncident(r *http.Request, c *caller) (any, error) {
	org, err := h.organisationOf(r, c)
	if err != nil {
		return nil, err
	}
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	tag, err := incident.ParseTag(r.PathValue("tag"))
	if err != nil {
		return nil, badParameterText("tag", i18n.M("api.error.incident.tag", "tag", r.PathValue("tag")))
	}
	inc, err := incident.ConstituentIncidentByTag(r.Context(), h.store, org.ID, tag)
	// Another organisation's incident answers exactly like a missing one.
	if errors.Is(err, store.ErrNotFound) {
		return nil, errConstituentIncidentNotFound
	}
	if err != nil {
		return nil, err
	}
	return toConstituentIncidentJSON(inc), nil
}

func (h *handler) constituentReports(r *http.Request, c *caller) (any, error) {
	org, err := h.organisationOf(r, c)
	if err != nil {
		return nil, err
	}
	values := r.URL.Query()
	if err := checkParams(values, []string{"limit", "offset"}); err != nil {
		return nil, err
	}
	limit, offset, err := pageParams(values)
	if err != nil {
		return nil, err
	}
	page, err := incident.ConstituentReports(r.Context(), h.store, org.ID, limit, offset)
	if err != nil {
		return nil, err
	}
	out := constituentReportPageJSON{Reports: []constituentReportJSON{}, Total: page.Total, More: page.More}
	for _, rep := range page.Items {
		out.Reports = append(out.Reports, toConstituentReportJSON(rep))
	}
	return out, nil
}

// constituentReportInput is the body of POST /constituent/reports. It has
// no reporter: the reporter is the token's user and its organisation, and
// a body that names one is refused as any unknown field is.
type constituentReportInput struct {
	Kind      incident.Kind `json:"kind"`
	Subject   string        `json:"subject"`
	Text      string        `json:"text"`
	Concerned string        `json:"concerned"`
}

func (h *handler) createConstituentReport(r *http.Request, c *caller) (any, error) {
	org, err := h.organisationOf(r, c)
	if err != nil {
		return nil, err
	}
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	var in constituentReportInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Text) == "" {
		return nil, badParameterText("text", i18n.M("api.error.report.text"))
	}
	rep := &incident.Report{Channel: incident.ChannelPortal, Kind: in.Kind, Language: c.user.Language,
		Reporter: incident.Reporter{Name: c.user.Name, Email: c.user.Email, OrgID: org.ID},
		Subject:  strings.TrimSpace(in.Subject), Text: strings.TrimSpace(in.Text), Concerned: strings.TrimSpace(in.Concerned),
		Observables: extract.Find(strings.Join([]string{in.Concerned, in.Subject, in.Text}, "\n"))}
	ctx := r.Context()
	receipt, err := h.service(c).Receive(ctx, rep)
	if err != nil {
		return nil, err
	}
	h.audit(ctx, c, "report.create", receipt.Tracking, fmt.Sprintf("portal, %s, %s", rep.Kind, org.Handle))
	out := constituentReportJSON{Tracking: receipt.Tracking, Channel: rep.Channel, Kind: rep.Kind, Received: rep.Received.UTC(),
		Subject: rep.Subject, State: rep.State}
	if !receipt.Tag.IsZero() {
		out.State = incident.ReportLinked
		if _, err := incident.ConstituentIncidentByTag(ctx, h.store, org.ID, receipt.Tag); err == nil {
			out.Incident = receipt.Tag.String()
		}
	}
	return created{location: "/api/v1/constituent/reports", value: out}, nil
}
