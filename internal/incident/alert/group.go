package alert

import (
	"errors"
	"time"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
)

// ErrCursorMoved means the cursor in the store is not where the worker
// read from: another follower moved it. Nothing was written.
var ErrCursorMoved = errors.New("the alerts' cursor moved: another process follows the events")

// MaxLines bounds the event lines an alert's report lists: the first
// MaxLines events; the counter goes on past them.
const MaxLines = 100

// Key is what alerts are grouped by: one alert per organisation and
// classification type while it is open.
type Key struct {
	// OrgID is the organisation's id, 0 for an event of no organisation
	// (Handle "") or of a handle the constituency does not know.
	OrgID  int64
	Handle string
	Type   string
}

// Group is what one batch of events adds to one alert.
type Group struct {
	Key
	Taxonomy string
	// Rule is the name of the rule that matched the group's first event.
	Rule     string
	Severity incident.Severity
	MinCount int64
	Events   int64
	// First and Last are when the first and last of the events were stored.
	First, Last time.Time
	// Lines describe the first MaxLines events, one line each.
	Lines []string
	// Observables are the events' addresses, domains and URLs, at most
	// incident.MaxObservables.
	Observables []extract.Observable
	// LineEnds[i] is how many of Observables the events of Lines[:i+1]
	// name: an alert that lists only some of the lines takes only their
	// observables.
	LineEnds []int
	// Report is the report to receive when the group makes the alert
	// one: prepared (incident.Service.Prepare) but for its text and
	// observables, which the store sets.
	Report *incident.Report
}

// Alert is one alert as the store keeps it.
type Alert struct {
	ID int64
	Key
	Taxonomy string
	Rule     string
	Severity incident.Severity
	MinCount int64
	// Events is how many matching events the alert counted.
	Events      int64
	First, Last time.Time
	// ReportID is the alert's report, 0 while fewer than MinCount
	// events were counted.
	ReportID int64
}
