package cli

import (
	"time"

	"github.com/vigil-cert/vigil/internal/incident"
)

// incidentOut is an incident as --json writes it: the fields of the API's
// Incident, with the same names.
func incidentOut(inc incident.Incident, now time.Time) map[string]any {
	out := map[string]any{"id": inc.ID, "tag": inc.Tag.String(), "title": inc.Title, "kind": inc.Kind,
		"taxonomy": inc.Taxonomy, "type": inc.Type, "tlp": inc.TLP, "pap": inc.PAP, "severity": inc.Severity,
		"impact": inc.Impact, "organisations": inc.OrgIDs, "assignee": inc.Assignee, "status": inc.Status,
		"status_reason": inc.StatusReason, "created": inc.Created.UTC(), "updated": inc.Updated.UTC(),
		"overdue": inc.Overdue(now), "reports": inc.Reports, "observables": inc.Observables}
	if !inc.Due.IsZero() {
		out["due"] = inc.Due.UTC()
	}
	if !inc.Closed.IsZero() {
		out["closed"] = inc.Closed.UTC()
	}
	if inc.MergedInto != 0 {
		out["merged_into"] = inc.MergedInto
	}
	return out
}

// reportsOut are reports as --json writes them, with the API's names;
// the status token's hash stays in the database.
func reportsOut(reports []incident.Report) []map[string]any {
	out := make([]map[string]any, len(reports))
	for i, r := range reports {
		out[i] = map[string]any{"id": r.ID, "tracking": r.Tracking, "channel": r.Channel, "kind": r.Kind,
			"received": r.Received.UTC(), "reporter": r.Reporter, "language": r.Language, "subject": r.Subject,
			"text": r.Text, "concerned": r.Concerned, "observables": r.Observables, "state": r.State,
			"close_reason": r.CloseReason, "incident_id": r.IncidentID}
	}
	return out
}

// tasksOut are tasks as --json writes them, with the API's names.
func tasksOut(tasks []incident.Task) []map[string]any {
	out := make([]map[string]any, len(tasks))
	for i, t := range tasks {
		out[i] = map[string]any{"id": t.ID, "title": t.Title, "playbook": t.Playbook, "step": t.Step, "done": t.Done,
			"by": t.By, "created": t.Created.UTC()}
		if !t.At.IsZero() {
			out[i]["at"] = t.At.UTC()
		}
	}
	return out
}

// timelineOut is a timeline as --json writes it, with the API's names.
func timelineOut(entries []incident.Entry) []map[string]any {
	out := make([]map[string]any, len(entries))
	for i, e := range entries {
		out[i] = map[string]any{"id": e.ID, "at": e.At.UTC(), "actor": e.Actor, "kind": e.Kind, "text": e.Text,
			"details": e.Details}
	}
	return out
}
