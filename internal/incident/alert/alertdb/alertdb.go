// Package alertdb keeps the pipeline alerts (internal/incident/alert) in
// a table of their own schema (Schema), beside the reports they open
// (internal/incident/incidentdb), and writes each batch of them together
// with the cursor of the events it read, in one transaction. Its queries
// run on SQLite and PostgreSQL alike.
package alertdb

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/alert"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/incident/incidentdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
	"github.com/vigil-cert/vigil/internal/store/statesql"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the alerts' table. An alert names its report, so the schema
// comes after the incidents'.
var Schema = sqlkit.Schema{Name: "incident_alert", FS: migrations}

// CursorKey is the state entry holding the Seq of the last event the
// alerts worker read (store.Events.EventsAfter).
const CursorKey = "incident_alerts.cursor"

// Store keeps the alerts on a database. It is safe for concurrent use.
type Store struct {
	db sqlkit.DB
	// betweenSteps, when set (by tests), runs in Record's transaction
	// after the cursor and the alerts are written, before the commit: an
	// error from it stands for a crash before the commit.
	betweenSteps func() error
}

// New returns the alerts kept on db, which Schema has migrated.
func New(db sqlkit.DB) *Store { return &Store{db: db} }

// Cursor returns the Seq of the last event the worker read, 0 at first.
func (s *Store) Cursor(ctx context.Context) (int64, error) {
	return cursor(ctx, s.db)
}

func cursor(ctx context.Context, db sqlkit.DB) (int64, error) {
	v, err := statesql.Get(ctx, db, CursorKey)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("alerts cursor: %w", err)
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("alerts cursor %q: %w", v, err)
	}
	return n, nil
}

// Record writes what a batch of events adds to the alerts and moves the
// cursor from from to to, in one transaction: either both are written or
// neither. alert.ErrCursorMoved, with nothing written, when the cursor
// is not at from.
func (s *Store) Record(ctx context.Context, from, to int64, groups []alert.Group) error {
	// One order for every writer: the groups' rows and reports are
	// locked in it.
	groups = slices.Clone(groups)
	slices.SortFunc(groups, func(a, b alert.Group) int {
		return cmpKey(a.Key, b.Key)
	})
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		// The cursor moves first, on the condition that it is still at
		// from: of two recorders at once (in PostgreSQL the second waits
		// for the first's commit, then finds the cursor moved) one
		// writes, the other writes nothing.
		if err := moveCursor(ctx, tx, from, to); err != nil {
			return err
		}
		for _, g := range groups {
			if err := record(ctx, tx, g); err != nil {
				return fmt.Errorf("alert %s of organisation %d: %w", g.Type, g.OrgID, err)
			}
		}
		if s.betweenSteps != nil {
			if err := s.betweenSteps(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record alerts: %w", err)
	}
	return nil
}

// moveCursor moves the cursor from from to to, alert.ErrCursorMoved when
// it is not at from.
func moveCursor(ctx context.Context, tx sqlkit.DB, from, to int64) error {
	next := []byte(strconv.FormatInt(to, 10))
	n, err := tx.Exec(ctx, `UPDATE state SET value = ? WHERE key = ? AND value = ?`, next, CursorKey, []byte(strconv.FormatInt(from, 10)))
	if err == nil && n == 0 && from == 0 {
		// The first cursor.
		n, err = tx.Exec(ctx, `INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, CursorKey, next)
	}
	if err != nil {
		return fmt.Errorf("alerts cursor: %w", err)
	}
	if n == 0 {
		at, err := cursor(ctx, tx)
		if err != nil {
			return err
		}
		return fmt.Errorf("at %d, not %d: %w", at, from, alert.ErrCursorMoved)
	}
	return nil
}

func cmpKey(a, b alert.Key) int {
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	if a.OrgID != b.OrgID {
		if a.OrgID < b.OrgID {
			return -1
		}
		return 1
	}
	return strings.Compare(a.Handle, b.Handle)
}

// open is the open alert of a group as record reads it.
type open struct {
	id, events, reportID int64
	pending              string
}

// openAlert returns the group's alert while it is open: still counting
// up to its min_count, or with its report new in the triage queue (the
// report locked, so that an analyst's triage waits for this commit or
// this transaction sees it). ok is false when there is none.
func openAlert(ctx context.Context, tx sqlkit.DB, k alert.Key) (open, bool, error) {
	var o open
	var reportID *int64
	err := tx.QueryRow(ctx, `SELECT id, events, pending, report_id FROM incident_alerts
		WHERE type = ? AND org_id = ? AND org_handle = ? ORDER BY id DESC LIMIT 1`, k.Type, k.OrgID, k.Handle).
		Scan(&o.id, &o.events, &o.pending, &reportID)
	if tx.IsNoRows(err) {
		return o, false, nil
	}
	if err != nil {
		return o, false, err
	}
	if reportID == nil {
		return o, true, nil
	}
	o.reportID = *reportID
	lock := ""
	if tx.Dialect() == sqlkit.Postgres {
		lock = " FOR UPDATE"
	}
	var state string
	if err := tx.QueryRow(ctx, `SELECT state FROM reports WHERE id = ?`+lock, o.reportID).Scan(&state); err != nil {
		return o, false, err
	}
	return o, state == string(incident.ReportNew), nil
}

// record adds one group to its open alert, or opens one.
func record(ctx context.Context, tx sqlkit.DB, g alert.Group) error {
	d := tx.Dialect()
	o, ok, err := openAlert(ctx, tx, g.Key)
	if err != nil {
		return err
	}
	if !ok {
		id, err := tx.Insert(ctx, `INSERT INTO incident_alerts (org_id, org_handle, taxonomy, type, rule, severity, min_count,
			events, first_seen, last_seen, pending) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, '')`,
			g.OrgID, g.Handle, g.Taxonomy, g.Type, g.Rule, string(g.Severity), g.MinCount, d.Time(g.First), d.Time(g.Last))
		if err != nil {
			return err
		}
		o = open{id: id}
	}
	// The first MaxLines events are listed; the counter goes on.
	lines := g.Lines[:min(len(g.Lines), int(max(0, alert.MaxLines-o.events)))]
	// The observables of the events listed; those past them are counted
	// only.
	var obs []extract.Observable
	if len(lines) > 0 && len(g.LineEnds) >= len(lines) {
		obs = g.Observables[:g.LineEnds[len(lines)-1]]
	}
	events := o.events + g.Events
	switch {
	case o.reportID != 0:
		if err := incidentdb.AppendToReport(ctx, tx, o.reportID, strings.Join(lines, "\n"), obs); err != nil {
			return err
		}
	case events >= g.MinCount:
		r := *g.Report
		r.Text = joinLines(o.pending, strings.Join(lines, "\n"))
		r.Observables = obs
		if _, err := incidentdb.Receive(ctx, tx, &r, incident.Grouping{}); err != nil {
			return err
		}
		o.reportID, o.pending = r.ID, ""
	default:
		o.pending = joinLines(o.pending, strings.Join(lines, "\n"))
	}
	_, err = tx.Exec(ctx, `UPDATE incident_alerts SET events = ?, last_seen = ?, pending = ?, report_id = ? WHERE id = ?`,
		events, d.Time(g.Last), o.pending, nullID(o.reportID), o.id)
	return err
}

func joinLines(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "\n" + b
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// alertColumns are an alert's columns.
const alertColumns = `id, org_id, org_handle, taxonomy, type, rule, severity, min_count, events, first_seen, last_seen, report_id`

func scanAlert(row sqlkit.Row) (alert.Alert, error) {
	var a alert.Alert
	var reportID *int64
	err := row.Scan(&a.ID, &a.OrgID, &a.Handle, &a.Taxonomy, &a.Type, &a.Rule, &a.Severity, &a.MinCount, &a.Events,
		sqlkit.Time(&a.First), sqlkit.Time(&a.Last), &reportID)
	if reportID != nil {
		a.ReportID = *reportID
	}
	return a, err
}

// maxReportIDs bounds the reports one AlertsOfReports reads (a page of
// the triage queue is far fewer).
const maxReportIDs = 1000

// AlertsOfReports returns the alerts of the reports given that are
// alerts, by report id.
func (s *Store) AlertsOfReports(ctx context.Context, reportIDs []int64) (map[int64]alert.Alert, error) {
	out := map[int64]alert.Alert{}
	if len(reportIDs) == 0 {
		return out, nil
	}
	if len(reportIDs) > maxReportIDs {
		reportIDs = reportIDs[:maxReportIDs]
	}
	args := make([]any, len(reportIDs))
	for i, id := range reportIDs {
		args[i] = id
	}
	list, err := sqlkit.All(ctx, s.db, `SELECT `+alertColumns+` FROM incident_alerts WHERE report_id IN (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")+`)`, args, scanAlert)
	if err != nil {
		return nil, fmt.Errorf("alerts of reports: %w", err)
	}
	for _, a := range list {
		out[a.ReportID] = a
	}
	return out, nil
}

// Alerts returns every alert, the newest first, at most limit (for the
// tests and the shell).
func (s *Store) Alerts(ctx context.Context, limit int) ([]alert.Alert, error) {
	list, err := sqlkit.All(ctx, s.db, `SELECT `+alertColumns+` FROM incident_alerts ORDER BY id DESC LIMIT ?`,
		[]any{limit}, scanAlert)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return list, nil
}

// ForgetOrganisation deletes the alerts of an organisation being deleted
// (a constituency delete hook); their reports stay, without it.
func ForgetOrganisation(ctx context.Context, tx sqlkit.DB, id int64, _ string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM incident_alerts WHERE org_id = ?`, id); err != nil {
		return fmt.Errorf("forget the organisation's alerts: %w", err)
	}
	return nil
}
