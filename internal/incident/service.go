package incident

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
)

// CaseStore is what the Service reads and writes.
type CaseStore interface {
	Intake
	Cases
	Blobs
}

// Service is the team's case handling over its store: receiving reports
// and everything an analyst does to incidents. Each operation on an
// incident writes its timeline entry with the change (one transaction)
// and then an audit entry. Zero fields take their defaults.
type Service struct {
	Store CaseStore
	Audit auth.AuditLog
	// Catalog translates the titles Vigil writes (playbook tasks, the
	// title of an incident it opens); the embedded one by default.
	Catalog *i18n.Catalog
	// Language is the team's language, of the titles Vigil writes by
	// itself; English by default.
	Language string
	// SLA sets due times; DefaultSLA by default.
	SLA SLA
	// Now is the clock; time.Now by default.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	// The databases keep microseconds.
	return now().UTC().Truncate(time.Microsecond)
}

func (s *Service) sla() SLA {
	if s.SLA == nil {
		return DefaultSLA
	}
	return s.SLA
}

func (s *Service) text(lang, id string, args ...any) string {
	c := s.Catalog
	if c == nil {
		c = i18n.Embedded()
	}
	if lang == "" {
		lang = s.Language
	}
	if lang == "" || !c.Supported(lang) {
		lang = i18n.Source
	}
	return c.T(lang, id, args...)
}

// Receive checks and stores a report that reached the team and groups
// it (Intake.ReceiveReport): onto the incident its subject's tag names,
// onto an open incident it shares a URL, domain or sender with, or with
// another new report into a new incident. The receipt carries the
// tracking number and the private status token, given here once.
// Receiving is not audited: a report is not a change by a person, and
// the incident's timeline records each link.
func (s *Service) Receive(ctx context.Context, r *Report) (Receipt, error) {
	token, g, err := s.Prepare(r)
	if err != nil {
		return Receipt{}, err
	}
	receipt, err := s.Store.ReceiveReport(ctx, r, g)
	if err != nil {
		return Receipt{}, fmt.Errorf("receive report: %w", err)
	}
	receipt.Token = token
	return receipt, nil
}

// Prepare is Receive without the store: it checks r, sets what receiving
// sets (the received time, the state, the hash of a new status token) and
// returns the token and how r is to be grouped. A caller that must store
// the report in a transaction of its own (the mail intake marks the mail
// done in the report's commit) calls Prepare, then incidentdb.Receive.
func (s *Service) Prepare(r *Report) (token string, g Grouping, err error) {
	if err := CheckReport(r); err != nil {
		return "", Grouping{}, fmt.Errorf("receive report: %w", err)
	}
	if r.Received.IsZero() {
		r.Received = s.now()
	}
	r.Received = r.Received.UTC().Truncate(time.Microsecond)
	token, hash := NewStatusToken()
	r.TokenHash, r.State, r.IncidentID = hash, ReportNew, 0
	g = Grouping{Keys: GroupingKeys(r.Observables), Open: s.openFor(r)}
	// A constituent's report (the portal, its API) is grouped by what it
	// names but never threaded by a tag typed in its subject: it could
	// name another organisation's incident, and the constituent sees the
	// incidents its reports are linked to.
	if r.Channel != ChannelPortal {
		g.Tag, _ = SubjectTag(r.Subject)
	}
	return token, g, nil
}

// openFor returns the incident that grouping opens for r and the report
// it shares a key with: new, classified and labelled by r's kind
// (TLP:AMBER, PAP:AMBER until an analyst decides), due by the SLA.
func (s *Service) openFor(r *Report) Incident {
	tax, typ := r.Kind.Classification()
	sev := DefaultSeverity(r.Kind)
	title := s.text("", KindKey(r.Kind))
	if keys := GroupingKeys(r.Observables); len(keys) > 0 {
		_, value, _ := strings.Cut(keys[0], ":")
		title = s.text("", "incident.title.grouped", title, value)
	}
	if len(title) > MaxFieldBytes {
		title = title[:MaxFieldBytes]
	}
	return Incident{Title: strings.ToValidUTF8(title, ""), Kind: r.Kind, Taxonomy: tax, Type: typ, TLP: TLPAmber, PAP: PAPAmber,
		Severity: sev, Status: StatusNew, Due: s.sla().Due(sev, r.Received)}
}

// ReportStatus returns the report a status link names: its tracking
// number and its private token. An unknown tracking number and a wrong
// token are the same store.ErrNotFound, and the token is compared in
// constant time (TokenMatches).
func (s *Service) ReportStatus(ctx context.Context, tracking, token string) (Report, error) {
	r, err := s.Store.GetReportByTracking(ctx, NormalTracking(tracking))
	if err != nil || !TokenMatches(token, r.TokenHash) {
		return Report{}, fmt.Errorf("report status: %w", store.ErrNotFound)
	}
	return r, nil
}

// CreateIncident opens an incident from reports (none for one an
// analyst opens by hand). Fields left empty take their defaults: the
// first report's kind and its classification, a title after it
// (ReportTitle), TLP:AMBER, PAP:AMBER, the kind's severity, status new,
// due by the SLA.
func (s *Service) CreateIncident(ctx context.Context, a Actor, inc Incident, reportIDs []int64) (Incident, error) {
	if (inc.Kind == "" || inc.Title == "") && len(reportIDs) > 0 {
		r, err := s.Store.GetReport(ctx, reportIDs[0])
		if err != nil {
			return Incident{}, fmt.Errorf("create incident: %w", err)
		}
		inc.Kind = cmp.Or(inc.Kind, r.Kind)
		inc.Title = cmp.Or(inc.Title, s.ReportTitle("", r))
	}
	if inc.Kind == "" {
		inc.Kind = KindOther
	}
	if inc.Type == "" {
		inc.Taxonomy, inc.Type = inc.Kind.Classification()
	}
	inc.TLP = cmp.Or(inc.TLP, TLPAmber)
	inc.PAP = cmp.Or(inc.PAP, PAPAmber)
	inc.Severity = cmp.Or(inc.Severity, DefaultSeverity(inc.Kind))
	inc.Status = cmp.Or(inc.Status, StatusNew)
	inc.Created = s.now()
	inc.Updated = inc.Created
	if inc.Due.IsZero() {
		inc.Due = s.sla().Due(inc.Severity, inc.Created)
	}
	if err := CheckIncident(&inc); err != nil {
		return Incident{}, fmt.Errorf("create incident: %w", err)
	}
	reportIDs = sortedUnique(slices.Clone(reportIDs))
	e := Entry{At: inc.Created, Actor: a.Name, Kind: EntryCreated, Text: inc.Title,
		Details: map[string]string{"reports": joinIDs(reportIDs)}}
	if err := s.Store.CreateIncident(ctx, &inc, reportIDs, e); err != nil {
		return Incident{}, fmt.Errorf("create incident: %w", err)
	}
	return inc, s.audit(ctx, a, "incident.create", inc.ID, inc.Title)
}

// ReportTitle is the title, in language lang (the Service's when ""), of
// an incident opened from r: its kind and what it is about (the URL or
// sender concerned, else the first line of its subject), or its kind and
// tracking number when it names neither.
func (s *Service) ReportTitle(lang string, r Report) string {
	about := cmp.Or(firstLine(r.Concerned), firstLine(r.Subject), r.Tracking)
	if len(about) > 200 {
		about = strings.ToValidUTF8(about[:200], "")
	}
	return s.text(lang, "incident.title.grouped", s.text(lang, KindKey(r.Kind)), about)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}

// LinkReports links reports to an incident (from the triage queue, or
// moved from another incident).
func (s *Service) LinkReports(ctx context.Context, a Actor, incidentID int64, reportIDs []int64) (int, error) {
	reportIDs = sortedUnique(slices.Clone(reportIDs))
	e := Entry{At: s.now(), Actor: a.Name, Kind: EntryReportLinked, Details: map[string]string{"reports": joinIDs(reportIDs)}}
	n, err := s.Store.LinkReports(ctx, incidentID, reportIDs, e)
	if err != nil {
		return 0, fmt.Errorf("link reports: %w", err)
	}
	return n, s.audit(ctx, a, "incident.link", incidentID, auth.TargetIDs("reports", reportIDs))
}

// Merge moves everything of the other incident onto the survivor and
// closes the other as merged into it.
func (s *Service) Merge(ctx context.Context, a Actor, survivorID, otherID int64, reason string) error {
	if survivorID == otherID {
		return fmt.Errorf("merge incidents: %w", inputError("incident.error.merge.self"))
	}
	if err := checkText("reason", reason, MaxFieldBytes); err != nil {
		return fmt.Errorf("merge incidents: %w", err)
	}
	e := Entry{At: s.now(), Actor: a.Name, Kind: EntryMerged, Text: reason,
		Details: map[string]string{"survivor": strconv.FormatInt(survivorID, 10), "merged": strconv.FormatInt(otherID, 10)}}
	if err := s.Store.MergeIncidents(ctx, survivorID, otherID, e); err != nil {
		return fmt.Errorf("merge incidents: %w", err)
	}
	return s.audit(ctx, a, "incident.merge", survivorID, fmt.Sprintf("merged incident %d into it: %s", otherID, reason))
}

// SplitReport makes a new report of part of a report's text (which the
// report loses), for a report that mixes two things: the new one waits
// in the triage queue with the observables given (the caller extracts
// them from part).
func (s *Service) SplitReport(ctx context.Context, a Actor, reportID int64, part string, observables []extract.Observable) (Report, error) {
	orig, err := s.Store.GetReport(ctx, reportID)
	if err != nil {
		return Report{}, fmt.Errorf("split report: %w", err)
	}
	if strings.TrimSpace(part) == "" || !strings.Contains(orig.Text, part) || part == orig.Text {
		return Report{}, fmt.Errorf("split report: %w", inputError("incident.error.split"))
	}
	// The new report has no status link of its own: the reporter follows
	// the original, so its token is thrown away.
	_, hash := NewStatusToken()
	r := Report{TokenHash: hash, Channel: orig.Channel, Kind: orig.Kind, Received: orig.Received, Reporter: orig.Reporter,
		Language: orig.Language, Subject: orig.Subject, Text: part, Concerned: orig.Concerned, Observables: observables,
		State: ReportNew, SplitFrom: orig.ID}
	if err := CheckReport(&r); err != nil {
		return Report{}, fmt.Errorf("split report: %w", err)
	}
	e := Entry{IncidentID: orig.IncidentID, At: s.now(), Actor: a.Name, Kind: EntrySplit,
		Details: map[string]string{"report": strconv.FormatInt(orig.ID, 10)}}
	if err := s.Store.SplitReport(ctx, &r, e); err != nil {
		return Report{}, fmt.Errorf("split report: %w", err)
	}
	return r, s.auditTarget(ctx, a, "report.split", "report "+strconv.FormatInt(orig.ID, 10), "new report "+r.Tracking)
}

// CloseReports closes reports from the triage queue without an incident
// (spam, out of scope, answered), with a reason.
func (s *Service) CloseReports(ctx context.Context, a Actor, ids []int64, reason string) (int, error) {
	if strings.TrimSpace(reason) == "" {
		return 0, fmt.Errorf("close reports: %w", inputError("incident.error.reason", string(ReportClosed)))
	}
	if err := checkText("reason", reason, MaxFieldBytes); err != nil {
		return 0, fmt.Errorf("close reports: %w", err)
	}
	ids = sortedUnique(slices.Clone(ids))
	n, err := s.Store.CloseReports(ctx, ids, reason)
	if err != nil {
		return 0, fmt.Errorf("close reports: %w", err)
	}
	return n, s.auditTarget(ctx, a, "report.close", auth.TargetIDs("reports", ids), reason)
}

// TriageReports marks new reports of the queue looked at, kept apart
// from any incident for now (they leave the queue of new reports).
func (s *Service) TriageReports(ctx context.Context, a Actor, ids []int64) (int, error) {
	ids = sortedUnique(slices.Clone(ids))
	n, err := s.Store.TriageReports(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("triage reports: %w", err)
	}
	return n, s.auditTarget(ctx, a, "report.triage", auth.TargetIDs("reports", ids), "")
}

// AddNote writes a note on an incident's timeline.
func (s *Service) AddNote(ctx context.Context, a Actor, incidentID int64, text string) (Entry, error) {
	if strings.TrimSpace(text) == "" {
		return Entry{}, fmt.Errorf("add note: %w", inputError("incident.error.note"))
	}
	if err := checkText("note", text, MaxTextBytes); err != nil {
		return Entry{}, fmt.Errorf("add note: %w", err)
	}
	e := Entry{IncidentID: incidentID, At: s.now(), Actor: a.Name, Kind: EntryNote, Text: text}
	if err := s.Store.AddEntry(ctx, &e); err != nil {
		return Entry{}, fmt.Errorf("add note: %w", err)
	}
	return e, s.audit(ctx, a, "incident.note", incidentID, "")
}

// Attach stores a file's content (once per SHA-256) and attaches it to
// an incident. The content is never rendered: the console offers it for
// download only.
func (s *Service) Attach(ctx context.Context, a Actor, incidentID int64, name, contentType string, data []byte) (Attachment, error) {
	att := Attachment{SHA256: HashBlob(data), Name: name, ContentType: contentType, Size: int64(len(data))}
	if err := CheckAttachment(att); err != nil {
		return Attachment{}, fmt.Errorf("attach: %w", err)
	}
	if _, err := s.Store.PutBlob(ctx, data); err != nil {
		return Attachment{}, fmt.Errorf("attach: %w", err)
	}
	e := Entry{IncidentID: incidentID, At: s.now(), Actor: a.Name, Kind: EntryNote, Text: name,
		Details: map[string]string{"attachment": att.SHA256, "size": strconv.FormatInt(att.Size, 10)}}
	if err := s.Store.AddAttachment(ctx, incidentID, att, e); err != nil {
		return Attachment{}, fmt.Errorf("attach: %w", err)
	}
	return att, s.audit(ctx, a, "incident.attach", incidentID, name+" "+att.SHA256)
}

// audit records an action on an incident in the audit log.
func (s *Service) audit(ctx context.Context, a Actor, action string, incidentID int64, detail string) error {
	return s.auditTarget(ctx, a, action, "incident "+strconv.FormatInt(incidentID, 10), detail)
}

func (s *Service) auditTarget(ctx context.Context, a Actor, action, target, detail string) error {
	if len(detail) > MaxFieldBytes {
		detail = strings.ToValidUTF8(detail[:MaxFieldBytes], "")
	}
	return auth.Record(context.WithoutCancel(ctx), s.Audit, auth.AuditEntry{UserID: a.UserID, Actor: a.Name,
		Action: action, Target: target, Detail: detail, Time: s.now()})
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}
