package incident

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/taxonomy"
	"github.com/vigil-cert/vigil/internal/tlp"
)

// Status is where an incident is in its handling.
type Status string

// The statuses, in the order an incident usually passes them.
const (
	StatusNew        Status = "new"
	StatusTriage     Status = "triage"
	StatusInProgress Status = "in_progress"
	StatusWaiting    Status = "waiting" // for the reporter, a constituent, another team
	StatusResolved   Status = "resolved"
	StatusClosed     Status = "closed"
)

// Statuses lists every status in workflow order.
var Statuses = []Status{StatusNew, StatusTriage, StatusInProgress, StatusWaiting, StatusResolved, StatusClosed}

// OpenStatuses are the statuses of an incident still being handled: a
// new report with a shared observable groups onto one of these, and the
// organisations it concerns cannot be deleted.
var OpenStatuses = []Status{StatusNew, StatusTriage, StatusInProgress, StatusWaiting, StatusResolved}

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool { return oneOf(s, Statuses) }

// Open reports whether an incident of status s is still being handled.
func (s Status) Open() bool { return s != StatusClosed }

// transitions are the allowed moves, with whether the move needs a
// reason: going back (reopening, waiting again), waiting (for what?),
// resolving (how?) and closing (why?) are explained; moving forward
// through triage is not.
var transitions = map[Status]map[Status]bool{
	StatusNew:        {StatusTriage: false, StatusInProgress: false, StatusWaiting: true, StatusResolved: true, StatusClosed: true},
	StatusTriage:     {StatusInProgress: false, StatusWaiting: true, StatusResolved: true, StatusClosed: true},
	StatusInProgress: {StatusWaiting: true, StatusResolved: true, StatusClosed: true, StatusTriage: true},
	StatusWaiting:    {StatusInProgress: false, StatusResolved: true, StatusClosed: true},
	StatusResolved:   {StatusClosed: false, StatusInProgress: true},
	StatusClosed:     {StatusInProgress: true}, // reopening
}

// CheckTransition says whether an incident may move from one status to
// another with the reason given: *InputError when the move is not
// allowed or needs a reason it lacks.
func CheckTransition(from, to Status, reason string) error {
	if !to.Valid() {
		return inputError("incident.error.status", to)
	}
	needs, ok := transitions[from][to]
	if !ok {
		return inputError("incident.error.transition", from, to)
	}
	if needs && reason == "" {
		return inputError("incident.error.reason", to)
	}
	return checkText("reason", reason, MaxFieldBytes)
}

// Transitions returns the statuses an incident of status from may move
// to, in workflow order.
func Transitions(from Status) []Status {
	var out []Status
	for _, s := range Statuses {
		if _, ok := transitions[from][s]; ok {
			out = append(out, s)
		}
	}
	return out
}

// TLP is the Traffic Light Protocol 2.0 label: who may be told (package
// tlp decides the labels for every capability).
type TLP = tlp.Label

// The TLP 2.0 labels.
const (
	TLPClear       = tlp.Clear
	TLPGreen       = tlp.Green
	TLPAmber       = tlp.Amber
	TLPAmberStrict = tlp.AmberStrict
	TLPRed         = tlp.Red
)

// TLPs lists the labels from the least to the most restricted.
var TLPs = tlp.Labels

// PAP is the Permissible Actions Protocol: what may be done with the
// information (RED: nothing that could be seen; AMBER: passive
// actions; GREEN: active ones; CLEAR: anything).
type PAP string

// The PAP labels.
const (
	PAPClear PAP = "CLEAR"
	PAPGreen PAP = "GREEN"
	PAPAmber PAP = "AMBER"
	PAPRed   PAP = "RED"
)

// PAPs lists the labels from the least to the most restricted.
var PAPs = []PAP{PAPClear, PAPGreen, PAPAmber, PAPRed}

// Valid reports whether p is a PAP label.
func (p PAP) Valid() bool { return oneOf(p, PAPs) }

// Severity is how bad an incident is; it sets the due time (SLA).
type Severity string

// The severities.
const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Severities lists them from the lowest.
var Severities = []Severity{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// Valid reports whether s is a severity.
func (s Severity) Valid() bool { return oneOf(s, Severities) }

// Tag names an incident to people and in mail subjects: its year and its
// number in that year, written 2026-123.
type Tag struct {
	Year int
	Seq  int
}

// String writes the tag as 2026-123.
func (t Tag) String() string { return fmt.Sprintf("%d-%d", t.Year, t.Seq) }

// Subject writes the tag as it goes in a mail subject, [VIGIL#2026-123].
func (t Tag) Subject() string { return "[VIGIL#" + t.String() + "]" }

// IsZero reports whether t names no incident.
func (t Tag) IsZero() bool { return t.Year == 0 }

var (
	tagPattern     = regexp.MustCompile(`^([0-9]{4})-([0-9]{1,9})$`)
	subjectPattern = regexp.MustCompile(`(?i)\[VIGIL#([0-9]{4})-([0-9]{1,9})\]`)
)

// ParseTag reads a tag written 2026-123.
func ParseTag(s string) (Tag, error) {
	m := tagPattern.FindStringSubmatch(s)
	if m == nil {
		return Tag{}, inputError("incident.error.tag", s)
	}
	return tagOf(m[1], m[2])
}

// SubjectTag finds the first [VIGIL#2026-123] in a mail subject (in any
// case, after any "Re:" or "Fwd:"); ok is false when there is none.
func SubjectTag(subject string) (Tag, bool) {
	m := subjectPattern.FindStringSubmatch(subject)
	if m == nil {
		return Tag{}, false
	}
	t, err := tagOf(m[1], m[2])
	return t, err == nil
}

func tagOf(year, seq string) (Tag, error) {
	y, _ := strconv.Atoi(year)
	n, _ := strconv.Atoi(seq)
	if y < 2000 || n < 1 {
		return Tag{}, inputError("incident.error.tag", year+"-"+seq)
	}
	return Tag{Year: y, Seq: n}, nil
}

// Incident is one case the team handles: reports grouped under it, its
// classification and labels, who handles it and where it stands.
type Incident struct {
	ID    int64
	Tag   Tag
	Title string
	// Kind is the kind of report it was opened from, which chooses its
	// playbook.
	Kind Kind
	// Taxonomy and Type are its RSIT classification.
	Taxonomy string
	Type     string
	TLP      TLP
	PAP      PAP
	Severity Severity
	// Impact says, in words, what the incident does to whom.
	Impact string
	// OrgIDs are the organisations of the constituency it concerns.
	OrgIDs []int64
	// AssigneeID is the account handling it, 0 for nobody; Assignee is
	// its name, read with the incident.
	AssigneeID int64
	Assignee   string
	Status     Status
	// StatusReason is the reason given for the last change of status.
	StatusReason string
	Created      time.Time
	Updated      time.Time
	// Due is when the SLA wants it resolved, zero for no due time.
	Due    time.Time
	Closed time.Time
	// Reports counts the reports linked to it.
	Reports     int
	Observables []extract.Observable
	Attachments []Attachment
	// MergedInto is the incident it was merged into, 0 for none.
	MergedInto int64
}

// Overdue reports whether the incident is past its due time at now and
// not resolved yet.
func (inc *Incident) Overdue(now time.Time) bool {
	return !inc.Due.IsZero() && now.After(inc.Due) && inc.Status != StatusResolved && inc.Status != StatusClosed
}

// CheckIncident checks an incident's fields before it is stored.
func CheckIncident(inc *Incident) error {
	if inc.Title == "" {
		return inputError("incident.error.title")
	}
	if err := checkText("title", inc.Title, MaxFieldBytes); err != nil {
		return err
	}
	if err := checkText("impact", inc.Impact, MaxTextBytes); err != nil {
		return err
	}
	if !inc.Kind.Valid() {
		return inputError("incident.error.kind", inc.Kind)
	}
	if tax, ok := taxonomy.TaxonomyOf(inc.Type); !ok || tax != inc.Taxonomy {
		return inputError("incident.error.classification", inc.Taxonomy, inc.Type)
	}
	if !inc.TLP.Valid() {
		return inputError("incident.error.tlp", inc.TLP)
	}
	if !inc.PAP.Valid() {
		return inputError("incident.error.pap", inc.PAP)
	}
	if !inc.Severity.Valid() {
		return inputError("incident.error.severity", inc.Severity)
	}
	if !inc.Status.Valid() {
		return inputError("incident.error.status", inc.Status)
	}
	return nil
}
