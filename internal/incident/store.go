package incident

import (
	"context"
	"errors"
	"time"

	"github.com/vigil-cert/vigil/internal/incident/extract"
)

// ErrOrganisationHasIncidents is why an organisation is not deleted while
// an incident not closed concerns it (incidentdb's delete hook); the
// error wraps store.ErrConflict too, so that a caller that knows only
// that an organisation's delete was refused still knows.
var ErrOrganisationHasIncidents = errors.New("open incidents concern the organisation")

// Grouping is what receiving a report needs to know to group it, as
// Service.Receive works it out: the report's grouping keys, the tag in
// its subject, and the incident to open when it is the second report of
// something no open incident holds yet.
type Grouping struct {
	// Keys are the report's grouping keys (GroupingKeys), sorted.
	Keys []string
	// Tag is the incident tag in the report's subject, the zero Tag for
	// none: the report threads onto that incident whatever its keys.
	Tag Tag
	// Open is the incident to open when the report shares a key with
	// another new report and no open incident: Title, Kind,
	// classification, labels, severity, Due and Status set.
	Open Incident
}

// Receipt is what receiving a report gives back.
type Receipt struct {
	ReportID int64
	Tracking string
	// Token is the private status token, given here once and kept
	// nowhere (the report keeps its SHA-256).
	Token string
	// IncidentID and Tag name the incident the report was linked to (0
	// and the zero Tag when it waits in the triage queue); Opened says
	// that the incident was opened for it.
	IncidentID int64
	Tag        Tag
	Opened     bool
}

// Intake is where Service.Receive stores reports.
type Intake interface {
	// ReceiveReport stores r (setting its ID and Tracking from the year
	// of r.Received) and, in the same transaction, groups it as g says:
	// onto the incident of g.Tag when there is one; else onto the open
	// incident that holds one of g.Keys; else, when another new report
	// holds one of them, onto a new incident g.Open of both; each link
	// bumps the incident's counter and writes its timeline entry. Two
	// reports received at once that share a key end in one incident.
	ReceiveReport(ctx context.Context, r *Report, g Grouping) (Receipt, error)
}

// Cases is what Service's operations on incidents read and write. Each
// method is one transaction, and writes the timeline entries it is given
// with what it changes. store.ErrNotFound for an incident, report or
// task that does not exist.
type Cases interface {
	GetIncident(ctx context.Context, id int64) (Incident, error)
	GetReport(ctx context.Context, id int64) (Report, error)
	GetReportByTracking(ctx context.Context, tracking string) (Report, error)
	// CreateIncident stores inc (setting ID, Tag, times) and links the
	// reports, which must not be linked yet (*InputError otherwise).
	CreateIncident(ctx context.Context, inc *Incident, reportIDs []int64, created Entry) error
	// LinkReports links the reports to the incident, moving any linked
	// to another one (whose counter drops), and returns how many it
	// linked.
	LinkReports(ctx context.Context, incidentID int64, reportIDs []int64, e Entry) (int, error)
	// MergeIncidents moves the other incident's reports, observables,
	// tasks, attachments and timeline to the survivor and closes the
	// other as merged into it.
	MergeIncidents(ctx context.Context, survivorID, otherID int64, e Entry) error
	// SplitReport stores part, a new report split from part.SplitFrom,
	// whose text loses part.Text, in the triage queue.
	SplitReport(ctx context.Context, part *Report, e Entry) error
	// ChangeIncident reads the incident, lets change set its fields and
	// return the timeline entries that say what changed, and writes both
	// back; nothing is written when change fails.
	ChangeIncident(ctx context.Context, id int64, change func(*Incident) ([]Entry, error)) (Incident, error)
	// AddTasks adds tasks to an incident, each with its entry.
	AddTasks(ctx context.Context, incidentID int64, tasks []Task, entries []Entry) error
	// CompleteTask marks the task of the incident done by by at e.At.
	CompleteTask(ctx context.Context, incidentID, taskID int64, e Entry) (Task, error)
	// AddEntry appends e to its incident's timeline.
	AddEntry(ctx context.Context, e *Entry) error
	// AddAttachment attaches a blob stored already (Blobs.PutBlob) to
	// an incident.
	AddAttachment(ctx context.Context, incidentID int64, a Attachment, e Entry) error
	// TriageReports marks new reports looked at and kept apart from any
	// incident, and returns how many it marked.
	TriageReports(ctx context.Context, ids []int64) (int, error)
	// CloseReports closes reports that are not linked, with a reason,
	// and returns how many it closed.
	CloseReports(ctx context.Context, ids []int64, reason string) (int, error)
}

// ReportQuery selects reports: the triage queue (State new) and the
// search. Zero fields select everything.
type ReportQuery struct {
	States     []ReportState
	Kinds      []Kind
	Channels   []Channel
	IncidentID int64
	OrgID      int64
	// Text is found in the subject, the text or the URL or sender
	// concerned (case-insensitive for ASCII letters).
	Text string
	// Observable is a value the report names (any kind).
	Observable string
	// From and To bound the received time (From included, To not).
	From, To time.Time
	// Oldest sorts the oldest first (the newest come first otherwise).
	Oldest bool
	Limit  int // 50 when 0
	Offset int
}

// CountLimit is where the lists stop counting: a count reads every row
// the query selects, and past this many a person needs to narrow the
// query rather than an exact figure ("more than 10,000").
const CountLimit = 10_000

// ReportPage is one page of reports and how many the query selects: the
// exact number up to CountLimit; More says that there are more than
// Total (which is then CountLimit).
type ReportPage struct {
	Reports []Report
	Total   int
	More    bool
}

// IncidentSort is the order of an incident list.
type IncidentSort string

// The orders of an incident list.
const (
	SortUpdated IncidentSort = "updated" // the most recently changed first (default)
	SortDue     IncidentSort = "due"     // the soonest due first, those without a due time last
	SortCreated IncidentSort = "created" // the newest first
)

// IncidentQuery selects incidents. Zero fields select everything.
type IncidentQuery struct {
	Statuses   []Status
	AssigneeID int64
	// Unassigned selects incidents nobody handles.
	Unassigned bool
	OrgID      int64
	// Constituent selects what a constituent organisation may follow in
	// its portal: the incidents that concern it (OrgIDs) and those its
	// own reports (Reporter.OrgID) are linked to, less those merged into
	// another (their reports moved to the survivor).
	Constituent int64
	// TLPs selects the incidents with one of these labels.
	TLPs       []TLP
	Severities []Severity
	// Kinds select incidents of these kinds (any when empty).
	Kinds []Kind
	// Text is found in the title or the impact.
	Text string
	// Observable is a value the incident names (any kind).
	Observable string
	// From and To bound the creation time.
	From, To time.Time
	// OverdueAt, when set, selects incidents due before it and neither
	// resolved nor closed.
	OverdueAt time.Time
	Sort      IncidentSort
	Limit     int
	Offset    int
}

// IncidentPage is one page of incidents and how many the query selects,
// counted as ReportPage's.
type IncidentPage struct {
	Incidents []Incident
	Total     int
	More      bool
}

// Queries are the lists and searches an analyst reads.
type Queries interface {
	// GetIncidentByTag returns the incident a tag names (the console's
	// and the API's addresses); store.ErrNotFound for none.
	GetIncidentByTag(ctx context.Context, tag Tag) (Incident, error)
	ListReports(ctx context.Context, q ReportQuery) (ReportPage, error)
	ListIncidents(ctx context.Context, q IncidentQuery) (IncidentPage, error)
	Timeline(ctx context.Context, incidentID int64) ([]Entry, error)
	Tasks(ctx context.Context, incidentID int64) ([]Task, error)
	// ReportObservables returns the observables of each report of ids,
	// by report id (a list's reports carry none).
	ReportObservables(ctx context.Context, ids []int64) (map[int64][]extract.Observable, error)
}

// Blobs keeps attachments' contents, once per SHA-256.
type Blobs interface {
	// PutBlob stores data under its SHA-256 unless it is there already,
	// and returns the hash.
	PutBlob(ctx context.Context, data []byte) (string, error)
	// GetBlob returns the content of a hash; store.ErrNotFound when
	// none is kept.
	GetBlob(ctx context.Context, sha256 string) ([]byte, error)
}

// Incidents is everything incidentdb keeps; the parts above are what each
// user of it takes.
type Incidents interface {
	Intake
	Cases
	Queries
	Blobs
	AttachmentLister
	EventCases
}

// IncidentAttachment is an attachment of an incident or of one of the
// reports linked to it: ReportID and Tracking name the report, 0 and ""
// for the incident's own.
type IncidentAttachment struct {
	Attachment
	ReportID int64
	Tracking string
}

// AttachmentLister lists what an incident's page offers to download.
type AttachmentLister interface {
	// IncidentAttachments returns the attachments of an incident and of
	// the reports linked to it, the incident's own first, then the
	// reports' oldest first; at most limit of them (0: no limit).
	IncidentAttachments(ctx context.Context, incidentID int64, limit int) ([]IncidentAttachment, error)
}
