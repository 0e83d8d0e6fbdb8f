// Package incidentdb keeps the team's reports and incidents
// (internal/incident) in tables of their own schema (Schema): reports with
// their observables and attachments, incidents with their organisations,
// observables, tasks and timeline, the grouping keys that bring reports
// of one URL together, and the attachments' contents, once per SHA-256.
// Its queries are written once on the shared SQL layer (sqlkit) and run
// on SQLite and PostgreSQL alike, which the contract tests
// (incidenttest) check. Errors name the operation and wrap
// store.ErrNotFound or an *incident.InputError.
package incidentdb

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the incidents' tables. An incident's assignee is an account,
// so the schema comes after the accounts'.
var Schema = sqlkit.Schema{Name: "incident", FS: migrations}

// Store keeps reports and incidents on a database. It is safe for
// concurrent use.
type Store struct {
	db sqlkit.DB
}

// New returns the reports and incidents kept on db, which Schema has
// migrated.
func New(db sqlkit.DB) *Store { return &Store{db: db} }

var _ incident.Incidents = (*Store)(nil)

// maxMergeHops bounds following merged_into from a merged incident to the
// one that survived it (a chain of merges).
const maxMergeHops = 16

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// nullInt scans a nullable id as 0 for NULL.
type nullInt struct{ v *int64 }

func (n nullInt) Scan(src any) error {
	var ni sql.NullInt64
	if err := ni.Scan(src); err != nil {
		return err
	}
	*n.v = ni.Int64
	return nil
}

// lock is the clause that locks the rows a SELECT reads until the
// transaction ends: PostgreSQL's FOR UPDATE; SQLite's one writer holds
// its lock from BEGIN, so it needs none.
func lock(d sqlkit.Dialect) string {
	if d == sqlkit.SQLite {
		return ""
	}
	return " FOR UPDATE"
}

// incidentColumns are an incident's columns, its assignee's name among
// them.
const incidentColumns = `i.id, i.year, i.seq, i.title, i.kind, i.taxonomy, i.type, i.tlp, i.pap, i.severity, i.impact,
	i.assignee_id, coalesce(u.name, ''), i.status, i.status_reason, i.created, i.updated, i.due, i.closed, i.reports, i.merged_into
	FROM incidents AS i LEFT JOIN users AS u ON u.id = i.assignee_id`

func scanIncident(row sqlkit.Row) (incident.Incident, error) {
	var inc incident.Incident
	err := row.Scan(&inc.ID, &inc.Tag.Year, &inc.Tag.Seq, &inc.Title, &inc.Kind, &inc.Taxonomy, &inc.Type, &inc.TLP, &inc.PAP,
		&inc.Severity, &inc.Impact, nullInt{&inc.AssigneeID}, &inc.Assignee, &inc.Status, &inc.StatusReason,
		sqlkit.Time(&inc.Created), sqlkit.Time(&inc.Updated), sqlkit.Time(&inc.Due), sqlkit.Time(&inc.Closed),
		&inc.Reports, nullInt{&inc.MergedInto})
	return inc, err
}

// reportColumns are a report's columns.
const reportColumns = `r.id, coalesce(r.tracking, ''), r.token_hash, r.channel, r.kind, r.received, r.reporter_name, r.reporter_email,
	r.reporter_phone, r.org_id, r.language, r.subject, r.text, r.concerned, r.state, r.close_reason, r.incident_id, r.split_from
	FROM reports AS r`

func scanReport(row sqlkit.Row) (incident.Report, error) {
	var r incident.Report
	err := row.Scan(&r.ID, &r.Tracking, &r.TokenHash, &r.Channel, &r.Kind, sqlkit.Time(&r.Received), &r.Reporter.Name,
		&r.Reporter.Email, &r.Reporter.Phone, nullInt{&r.Reporter.OrgID}, &r.Language, &r.Subject, &r.Text, &r.Concerned,
		&r.State, &r.CloseReason, nullInt{&r.IncidentID}, nullInt{&r.SplitFrom})
	return r, err
}

// GetIncident returns an incident with its organisations and
// observables.
func (s *Store) GetIncident(ctx context.Context, id int64) (incident.Incident, error) {
	var inc incident.Incident
	err := s.db.Snapshot(ctx, func(db sqlkit.DB) error {
		var err error
		inc, err = getIncident(ctx, db, `i.id = ?`, id)
		return err
	})
	return inc, store.NotFound(err, fmt.Sprintf("get incident %d", id))
}

// GetIncidentByTag returns the incident a tag names.
func (s *Store) GetIncidentByTag(ctx context.Context, tag incident.Tag) (incident.Incident, error) {
	var inc incident.Incident
	err := s.db.Snapshot(ctx, func(db sqlkit.DB) error {
		var err error
		inc, err = getIncident(ctx, db, `i.year = ? AND i.seq = ?`, tag.Year, tag.Seq)
		return err
	})
	return inc, store.NotFound(err, fmt.Sprintf("get incident %s", tag))
}

func getIncident(ctx context.Context, db sqlkit.DB, where string, args ...any) (incident.Incident, error) {
	inc, err := scanIncident(db.QueryRow(ctx, `SELECT `+incidentColumns+` WHERE `+where, args...))
	if err != nil {
		return inc, err
	}
	if inc.OrgIDs, err = incidentOrgs(ctx, db, inc.ID); err != nil {
		return inc, err
	}
	inc.Observables, err = sqlkit.All(ctx, db, `SELECT kind, value FROM incident_observables WHERE incident_id = ? ORDER BY kind, value`,
		[]any{inc.ID}, scanObservable)
	if err != nil {
		return inc, err
	}
	inc.Attachments, err = attachments(ctx, db, "incident_id", inc.ID)
	return inc, err
}

func incidentOrgs(ctx context.Context, db sqlkit.DB, id int64) ([]int64, error) {
	return sqlkit.All(ctx, db, `SELECT org_id FROM incident_orgs WHERE incident_id = ? ORDER BY org_id`, []any{id},
		func(row sqlkit.Row) (int64, error) {
			var v int64
			err := row.Scan(&v)
			return v, err
		})
}

func scanObservable(row sqlkit.Row) (extract.Observable, error) {
	var o extract.Observable
	err := row.Scan(&o.Kind, &o.Value)
	return o, err
}

// GetReport returns a report with its observables and attachments.
func (s *Store) GetReport(ctx context.Context, id int64) (incident.Report, error) {
	var r incident.Report
	err := s.db.Snapshot(ctx, func(db sqlkit.DB) error {
		var err error
		r, err = getReport(ctx, db, `r.id = ?`, id)
		return err
	})
	return r, store.NotFound(err, fmt.Sprintf("get report %d", id))
}

// GetReportByTracking returns the report of a tracking number. Whoever
// asks for a reporter checks the status token (incident.TokenMatches).
func (s *Store) GetReportByTracking(ctx context.Context, tracking string) (incident.Report, error) {
	var r incident.Report
	err := s.db.Snapshot(ctx, func(db sqlkit.DB) error {
		var err error
		r, err = getReport(ctx, db, `r.tracking = ?`, tracking)
		return err
	})
	return r, store.NotFound(err, "get report by tracking number")
}

func getReport(ctx context.Context, db sqlkit.DB, where string, args ...any) (incident.Report, error) {
	r, err := scanReport(db.QueryRow(ctx, `SELECT `+reportColumns+` WHERE `+where, args...))
	if err != nil {
		return r, err
	}
	r.Observables, err = sqlkit.All(ctx, db, `SELECT kind, value FROM report_observables WHERE report_id = ? ORDER BY kind, value`,
		[]any{r.ID}, scanObservable)
	if err != nil {
		return r, err
	}
	r.Attachments, err = attachments(ctx, db, "report_id", r.ID)
	return r, err
}

func attachments(ctx context.Context, db sqlkit.DB, owner string, id int64) ([]incident.Attachment, error) {
	return sqlkit.All(ctx, db, `SELECT sha256, name, content_type, size FROM incident_attachments WHERE `+owner+` = ? ORDER BY id`,
		[]any{id}, func(row sqlkit.Row) (incident.Attachment, error) {
			var a incident.Attachment
			err := row.Scan(&a.SHA256, &a.Name, &a.ContentType, &a.Size)
			return a, err
		})
}

// addEntry appends e to its incident's timeline in tx; an entry of no
// incident (a split of a report in the queue) is not written.
func addEntry(ctx context.Context, tx sqlkit.DB, e *incident.Entry) error {
	if e.IncidentID == 0 {
		return nil
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		var err error
		if details, err = json.Marshal(e.Details); err != nil {
			return err
		}
	}
	if e.At.IsZero() {
		e.At = now()
	}
	id, err := tx.Insert(ctx, `INSERT INTO incident_timeline (incident_id, at, actor, kind, text, details) VALUES (?, ?, ?, ?, ?, ?)`,
		e.IncidentID, tx.Dialect().Time(e.At), e.Actor, string(e.Kind), e.Text, string(details))
	if err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	e.ID = id
	return nil
}

// now is the time of a change the caller did not stamp, as the database
// keeps it (to the microsecond).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// AddEntry appends e to its incident's timeline.
func (s *Store) AddEntry(ctx context.Context, e *incident.Entry) error {
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		if err := touch(ctx, tx, e.IncidentID, e.At); err != nil {
			return err
		}
		return addEntry(ctx, tx, e)
	})
	if err != nil {
		return fmt.Errorf("add timeline entry: %w", err)
	}
	return nil
}

// touch marks an incident changed at at; ErrNotFound when it does not
// exist.
func touch(ctx context.Context, tx sqlkit.DB, id int64, at time.Time) error {
	if at.IsZero() {
		at = now()
	}
	n, err := tx.Exec(ctx, `UPDATE incidents SET updated = ? WHERE id = ?`, tx.Dialect().Time(at), id)
	if err == nil && n == 0 {
		err = fmt.Errorf("incident %d: %w", id, store.ErrNotFound)
	}
	return err
}

// AddAttachment attaches a stored blob to an incident, with its entry.
func (s *Store) AddAttachment(ctx context.Context, incidentID int64, a incident.Attachment, e incident.Entry) error {
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		if err := touch(ctx, tx, incidentID, e.At); err != nil {
			return err
		}
		if err := insertAttachment(ctx, tx, "incident_id", incidentID, a); err != nil {
			return err
		}
		e.IncidentID = incidentID
		return addEntry(ctx, tx, &e)
	})
	if err != nil {
		return fmt.Errorf("attach to incident %d: %w", incidentID, err)
	}
	return nil
}
