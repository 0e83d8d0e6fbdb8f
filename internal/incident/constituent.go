package incident

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

// What a constituent organisation sees of the incidents in its portal and
// through the constituent API (docs/INCIDENTS.md, "The constituent's
// view"). The rule, in one place:
//
//   - it sees an incident that concerns it (OrgIDs) or that one of its own
//     reports (Reporter.OrgID) is linked to, unless the incident is
//     TLP:RED or merged into another;
//   - of such an incident it sees the tag, the title, the status, the
//     reason of a resolved or closed status, when it was opened and last
//     changed, and its own reports;
//   - of a TLP:RED incident it sees nothing but the state of its own
//     reports (in the list of its reports, without the incident's tag);
//   - never the assignee, the notes, the timeline, the tasks, PAP,
//     severity, the observables, the attachments, the other
//     organisations concerned, nor any other reporter's report.
//
// An incident it may not see answers exactly like one that does not
// exist (store.ErrNotFound), so that a guessed tag tells nothing.

// ConstituentTLPs are the labels of the incidents a constituent is shown.
var ConstituentTLPs = []TLP{TLPClear, TLPGreen, TLPAmber, TLPAmberStrict}

// ConstituentReader is what the constituent's views read.
type ConstituentReader interface {
	Queries
	GetIncident(ctx context.Context, id int64) (Incident, error)
}

// ConstituentIncident is what a constituent is shown of an incident.
type ConstituentIncident struct {
	Tag    Tag
	Title  string
	Status Status
	// StatusReason is the reason of a resolved or closed status; empty
	// for any other status, whose reasons are the team's working notes.
	StatusReason string
	Created      time.Time
	Updated      time.Time
	// Reports are the constituent's own reports linked to the incident
	// (on the detail only).
	Reports []ConstituentReport
}

// ConstituentReport is what a constituent is shown of one of its own
// reports.
type ConstituentReport struct {
	Tracking string
	Channel  Channel
	Kind     Kind
	Received time.Time
	Subject  string
	State    ReportState
	// Incident is the tag of the incident it is linked to when the
	// constituent may see that incident, the zero Tag otherwise.
	Incident Tag
}

// ConstituentPage is one page of a constituent's incidents or reports
// and how many there are, counted as IncidentPage's.
type ConstituentPage[T any] struct {
	Items []T
	Total int
	More  bool
}

// maxConstituentReports bounds the own reports an incident's detail
// lists.
const maxConstituentReports = 200

// ShownToConstituent reports whether the organisation orgID may see inc,
// given whether one of its own reports is linked to it.
func ShownToConstituent(inc Incident, orgID int64, reported bool) bool {
	if orgID == 0 || inc.MergedInto != 0 || !slices.Contains(ConstituentTLPs, inc.TLP) {
		return false
	}
	return reported || slices.Contains(inc.OrgIDs, orgID)
}

func constituentIncident(inc Incident) ConstituentIncident {
	out := ConstituentIncident{Tag: inc.Tag, Title: inc.Title, Status: inc.Status, Created: inc.Created, Updated: inc.Updated}
	if inc.Status == StatusResolved || inc.Status == StatusClosed {
		out.StatusReason = inc.StatusReason
	}
	return out
}

func constituentReport(r Report) ConstituentReport {
	return ConstituentReport{Tracking: r.Tracking, Channel: r.Channel, Kind: r.Kind, Received: r.Received,
		Subject: r.Subject, State: r.State}
}

// ConstituentIncidents returns a page of the incidents the organisation
// orgID may see, the most recently changed first.
func ConstituentIncidents(ctx context.Context, q ConstituentReader, orgID int64, limit, offset int) (ConstituentPage[ConstituentIncident], error) {
	if orgID == 0 {
		// No organisation, no incidents: a query without one would
		// select every organisation's.
		return ConstituentPage[ConstituentIncident]{Items: []ConstituentIncident{}}, nil
	}
	page, err := q.ListIncidents(ctx, IncidentQuery{Constituent: orgID, TLPs: ConstituentTLPs, Limit: limit, Offset: offset})
	if err != nil {
		return ConstituentPage[ConstituentIncident]{}, fmt.Errorf("incidents of organisation %d: %w", orgID, err)
	}
	out := ConstituentPage[ConstituentIncident]{Items: []ConstituentIncident{}, Total: page.Total, More: page.More}
	for _, inc := range page.Incidents {
		out.Items = append(out.Items, constituentIncident(inc))
	}
	return out, nil
}

// ConstituentIncidentByTag returns what the organisation orgID may see of
// the incident tag names, with its own reports linked to it;
// store.ErrNotFound when there is no such incident or it may not see it.
func ConstituentIncidentByTag(ctx context.Context, q ConstituentReader, orgID int64, tag Tag) (ConstituentIncident, error) {
	notFound := fmt.Errorf("incident %s: %w", tag, store.ErrNotFound)
	inc, err := q.GetIncidentByTag(ctx, tag)
	if err != nil {
		return ConstituentIncident{}, err
	}
	own, err := q.ListReports(ctx, ReportQuery{IncidentID: inc.ID, OrgID: orgID, Oldest: true, Limit: maxConstituentReports})
	if err != nil {
		return ConstituentIncident{}, fmt.Errorf("reports of organisation %d: %w", orgID, err)
	}
	if !ShownToConstituent(inc, orgID, len(own.Reports) > 0) {
		return ConstituentIncident{}, notFound
	}
	out := constituentIncident(inc)
	for _, r := range own.Reports {
		cr := constituentReport(r)
		cr.Incident = inc.Tag
		out.Reports = append(out.Reports, cr)
	}
	return out, nil
}

// ConstituentReports returns a page of the organisation orgID's own
// reports, the newest first, each with the tag of its incident when the
// organisation may see that incident.
func ConstituentReports(ctx context.Context, q ConstituentReader, orgID int64, limit, offset int) (ConstituentPage[ConstituentReport], error) {
	if orgID == 0 {
		return ConstituentPage[ConstituentReport]{Items: []ConstituentReport{}}, nil
	}
	page, err := q.ListReports(ctx, ReportQuery{OrgID: orgID, Limit: limit, Offset: offset})
	if err != nil {
		return ConstituentPage[ConstituentReport]{}, fmt.Errorf("reports of organisation %d: %w", orgID, err)
	}
	out := ConstituentPage[ConstituentReport]{Items: []ConstituentReport{}, Total: page.Total, More: page.More}
	tags := map[int64]Tag{}
	for _, r := range page.Reports {
		cr := constituentReport(r)
		if r.IncidentID != 0 {
			tag, seen := tags[r.IncidentID]
			if !seen {
				inc, err := q.GetIncident(ctx, r.IncidentID)
				if err != nil {
					return ConstituentPage[ConstituentReport]{}, fmt.Errorf("incident of report %s: %w", r.Tracking, err)
				}
				// Its own report is linked: that is the "reported" of
				// the rule.
				if ShownToConstituent(inc, orgID, true) {
					tag = inc.Tag
				}
				tags[r.IncidentID] = tag
			}
			cr.Incident = tag
		}
		out.Items = append(out.Items, cr)
	}
	return out, nil
}
