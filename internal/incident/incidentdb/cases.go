package incidentdb

// What an analyst does to incidents, each one transaction.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

var (
	errNotFound  = store.ErrNotFound
	errNoAccount = fmt.Errorf("no such account: %w", store.ErrNotFound)
)

// lockKeys locks the grouping keys the reports hold, in the keys' order,
// before their rows are changed: receivers take the keys first and the
// reports after, so taking them in the same order never deadlocks.
func lockKeys(ctx context.Context, tx sqlkit.DB, reportIDs []int64) error {
	if len(reportIDs) == 0 || tx.Dialect() == sqlkit.SQLite {
		return nil
	}
	a := tx.Dialect().Args()
	where := sqlkit.In(a, "report_id", reportIDs)
	return tx.Each(ctx, `SELECT key FROM incident_groups WHERE `+where+` ORDER BY key FOR UPDATE`, a.List(),
		func(sqlkit.Row) error { return nil })
}

// holdKeys gives an incident the grouping keys the reports held, so
// that later reports of the same URL group onto it.
func holdKeys(ctx context.Context, tx sqlkit.DB, incidentID int64, reportIDs []int64) error {
	if len(reportIDs) == 0 {
		return nil
	}
	a := tx.Dialect().Args()
	q := `UPDATE incident_groups SET incident_id = ` + a.Add(incidentID) + `, report_id = NULL WHERE ` + sqlkit.In(a, "report_id", reportIDs)
	_, err := tx.Exec(ctx, q, a.List()...)
	return err
}

// CreateIncident stores inc and links the reports, which must not be
// linked to an incident yet.
func (s *Store) CreateIncident(ctx context.Context, inc *incident.Incident, reportIDs []int64, created incident.Entry) error {
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		if err := lockKeys(ctx, tx, reportIDs); err != nil {
			return err
		}
		for _, id := range reportIDs {
			var linked int64
			var tracking string
			err := tx.QueryRow(ctx, `SELECT incident_id, tracking FROM reports WHERE id = ?`+lock(tx.Dialect()), id).
				Scan(nullInt{&linked}, &tracking)
			if err != nil {
				return store.NotFound(err, fmt.Sprintf("report %d", id))
			}
			if linked != 0 {
				return incident.Refuse("incident.error.report.linked", tracking)
			}
		}
		if err := insertIncident(ctx, tx, inc); err != nil {
			return err
		}
		created.IncidentID = inc.ID
		if err := addEntry(ctx, tx, &created); err != nil {
			return err
		}
		e := incident.Entry{At: created.At, Actor: created.Actor, Kind: incident.EntryReportLinked}
		n, err := linkReports(ctx, tx, inc.ID, reportIDs, e)
		if err != nil {
			return err
		}
		inc.Reports = n
		return holdKeys(ctx, tx, inc.ID, reportIDs)
	})
	if err != nil {
		return fmt.Errorf("create incident: %w", err)
	}
	return nil
}

// LinkReports links reports to an incident, moving them from any other.
func (s *Store) LinkReports(ctx context.Context, incidentID int64, reportIDs []int64, e incident.Entry) (int, error) {
	var n int
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		if err := lockKeys(ctx, tx, reportIDs); err != nil {
			return err
		}
		var err error
		if n, err = linkReports(ctx, tx, incidentID, reportIDs, e); err != nil {
			return err
		}
		return holdKeys(ctx, tx, incidentID, reportIDs)
	})
	if err != nil {
		return 0, fmt.Errorf("link reports: %w", err)
	}
	return n, nil
}

// MergeIncidents moves everything of the other incident to the survivor
// and closes the other as merged. The grouping keys the other held stay
// with it: a receiver follows merged_into to the survivor (which spares
// the merge from locking keys after incidents, the receivers' order
// reversed).
func (s *Store) MergeIncidents(ctx context.Context, survivorID, otherID int64, e incident.Entry) error {
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		d := tx.Dialect()
		type state struct {
			status string
			merged int64
		}
		var states [2]state
		// Lock both in the order of their ids, as another merge would.
		first, second := survivorID, otherID
		if second < first {
			first, second = second, first
		}
		for _, id := range []int64{first, second} {
			var st state
			err := tx.QueryRow(ctx, `SELECT status, merged_into FROM incidents WHERE id = ?`+lock(d), id).Scan(&st.status, nullInt{&st.merged})
			if err != nil {
				return store.NotFound(err, fmt.Sprintf("incident %d", id))
			}
			if id == survivorID {
				states[0] = st
			} else {
				states[1] = st
			}
		}
		switch {
		case states[0].merged != 0:
			return incident.Refuse("incident.error.merged", states[0].merged)
		case states[1].merged != 0:
			return incident.Refuse("incident.error.merged", states[1].merged)
		case states[0].status == string(incident.StatusClosed):
			return incident.Refuse("incident.error.merge.closed")
		}
		at := d.Time(e.At)
		steps := []struct {
			query string
			args  []any
		}{
			{`UPDATE incidents SET reports = reports + (SELECT count(*) FROM reports WHERE incident_id = ?), updated = ? WHERE id = ?`,
				[]any{otherID, at, survivorID}},
			{`UPDATE reports SET incident_id = ? WHERE incident_id = ?`, []any{survivorID, otherID}},
			{`INSERT INTO incident_observables (incident_id, kind, value) SELECT ?, kind, value FROM incident_observables
				WHERE incident_id = ? ON CONFLICT DO NOTHING`, []any{survivorID, otherID}},
			{`DELETE FROM incident_observables WHERE incident_id = ?`, []any{otherID}},
			{`INSERT INTO incident_orgs (incident_id, org_id) SELECT ?, org_id FROM incident_orgs WHERE incident_id = ? ON CONFLICT DO NOTHING`,
				[]any{survivorID, otherID}},
			{`DELETE FROM incident_orgs WHERE incident_id = ?`, []any{otherID}},
			{`INSERT INTO incident_events (incident_id, event_hash, event_time, type, source_ip, fqdn, url, organisations, added, added_by)
				SELECT ?, event_hash, event_time, type, source_ip, fqdn, url, organisations, added, added_by FROM incident_events
				WHERE incident_id = ? ON CONFLICT DO NOTHING`, []any{survivorID, otherID}},
			{`DELETE FROM incident_events WHERE incident_id = ?`, []any{otherID}},
			{`UPDATE incident_tasks SET incident_id = ? WHERE incident_id = ?`, []any{survivorID, otherID}},
			{`UPDATE incident_timeline SET incident_id = ? WHERE incident_id = ?`, []any{survivorID, otherID}},
			{`UPDATE incident_attachments SET incident_id = ? WHERE incident_id = ?`, []any{survivorID, otherID}},
			{`UPDATE incidents SET status = ?, status_reason = ?, closed = ?, updated = ?, merged_into = ?, reports = 0 WHERE id = ?`,
				[]any{string(incident.StatusClosed), e.Text, at, at, survivorID, otherID}},
		}
		for _, step := range steps {
			if _, err := tx.Exec(ctx, step.query, step.args...); err != nil {
				return err
			}
		}
		e.IncidentID = survivorID
		if err := addEntry(ctx, tx, &e); err != nil {
			return err
		}
		// The merged one keeps a line saying where everything went.
		gone := e
		gone.IncidentID, gone.ID = otherID, 0
		return addEntry(ctx, tx, &gone)
	})
	if err != nil {
		return fmt.Errorf("merge incident %d into %d: %w", otherID, survivorID, err)
	}
	return nil
}

// SplitReport stores part, split from part.SplitFrom, whose text loses
// part.Text.
func (s *Store) SplitReport(ctx context.Context, part *incident.Report, e incident.Entry) error {
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		// The incident before the report, as a merge takes them.
		if e.IncidentID != 0 {
			if err := touch(ctx, tx, e.IncidentID, e.At); err != nil {
				return err
			}
		}
		var text string
		err := tx.QueryRow(ctx, `SELECT text FROM reports WHERE id = ?`+lock(tx.Dialect()), part.SplitFrom).Scan(&text)
		if err != nil {
			return store.NotFound(err, fmt.Sprintf("report %d", part.SplitFrom))
		}
		if part.Text == "" || part.Text == text || !strings.Contains(text, part.Text) {
			return incident.Refuse("incident.error.split")
		}
		rest := strings.Replace(text, part.Text, "", 1)
		if _, err := tx.Exec(ctx, `UPDATE reports SET text = ? WHERE id = ?`, rest, part.SplitFrom); err != nil {
			return err
		}
		part.State = incident.ReportNew
		if err := insertReport(ctx, tx, part); err != nil {
			return err
		}
		if e.Details == nil {
			e.Details = map[string]string{}
		}
		e.Details["new_report"] = strconv.FormatInt(part.ID, 10)
		e.Details["new_tracking"] = part.Tracking
		return addEntry(ctx, tx, &e)
	})
	if err != nil {
		return fmt.Errorf("split report %d: %w", part.SplitFrom, err)
	}
	return nil
}

// ChangeIncident reads the incident (locked in PostgreSQL), lets change
// set its fields, and writes them back with the entries change returns;
// when change returns none, nothing is written.
func (s *Store) ChangeIncident(ctx context.Context, id int64, change func(*incident.Incident) ([]incident.Entry, error)) (incident.Incident, error) {
	var out incident.Incident
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		d := tx.Dialect()
		if lock(d) != "" {
			var n int64
			if err := tx.QueryRow(ctx, `SELECT id FROM incidents WHERE id = ?`+lock(d), id).Scan(&n); err != nil {
				return store.NotFound(err, fmt.Sprintf("incident %d", id))
			}
		}
		inc, err := getIncident(ctx, tx, `i.id = ?`, id)
		if err != nil {
			return store.NotFound(err, fmt.Sprintf("incident %d", id))
		}
		entries, err := change(&inc)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			out = inc
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE incidents SET title = ?, kind = ?, taxonomy = ?, type = ?, tlp = ?, pap = ?, severity = ?, impact = ?,
			assignee_id = ?, status = ?, status_reason = ?, updated = ?, due = ?, closed = ? WHERE id = ?`,
			inc.Title, string(inc.Kind), inc.Taxonomy, inc.Type, string(inc.TLP), string(inc.PAP), string(inc.Severity), inc.Impact,
			nullID(inc.AssigneeID), string(inc.Status), inc.StatusReason, d.Time(inc.Updated), d.NullTime(inc.Due), d.NullTime(inc.Closed), id)
		if tx.IsForeignKey(err) {
			return fmt.Errorf("assignee %d: %w", inc.AssigneeID, errNoAccount)
		}
		if err != nil {
			return err
		}
		if err := setOrgs(ctx, tx, id, inc.OrgIDs); err != nil {
			return err
		}
		for i := range entries {
			entries[i].IncidentID = id
			if err := addEntry(ctx, tx, &entries[i]); err != nil {
				return err
			}
		}
		out, err = getIncident(ctx, tx, `i.id = ?`, id)
		return err
	})
	if err != nil {
		return incident.Incident{}, fmt.Errorf("change incident %d: %w", id, err)
	}
	return out, nil
}

// AddTasks adds tasks to an incident, setting their IDs, with their
// entries.
func (s *Store) AddTasks(ctx context.Context, incidentID int64, tasks []incident.Task, entries []incident.Entry) error {
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		d := tx.Dialect()
		var at = now()
		if len(entries) > 0 {
			at = entries[0].At
		}
		if err := touch(ctx, tx, incidentID, at); err != nil {
			return err
		}
		for i := range tasks {
			t := &tasks[i]
			t.IncidentID = incidentID
			id, err := tx.Insert(ctx, `INSERT INTO incident_tasks (incident_id, title, playbook, step, done, done_by, done_at, created)
				VALUES (?, ?, ?, ?, FALSE, '', NULL, ?)`, incidentID, t.Title, t.Playbook, t.Step, d.Time(t.Created))
			if err != nil {
				return err
			}
			t.ID = id
			if i < len(entries) {
				e := entries[i]
				e.IncidentID = incidentID
				if e.Details == nil {
					e.Details = map[string]string{}
				}
				e.Details["task"] = strconv.FormatInt(id, 10)
				if err := addEntry(ctx, tx, &e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add tasks to incident %d: %w", incidentID, err)
	}
	return nil
}

const taskColumns = `id, incident_id, title, playbook, step, done, done_by, done_at, created FROM incident_tasks`

func scanTask(row sqlkit.Row) (incident.Task, error) {
	var t incident.Task
	err := row.Scan(&t.ID, &t.IncidentID, &t.Title, &t.Playbook, &t.Step, &t.Done, &t.By, sqlkit.Time(&t.At), sqlkit.Time(&t.Created))
	return t, err
}

// CompleteTask marks a task of the incident done by e.Actor at e.At, and
// writes e; a task done already is returned as it is (the incident marked
// changed all the same).
func (s *Store) CompleteTask(ctx context.Context, incidentID, taskID int64, e incident.Entry) (incident.Task, error) {
	var t incident.Task
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		d := tx.Dialect()
		// The incident before its task, as a merge takes them.
		if err := touch(ctx, tx, incidentID, e.At); err != nil {
			return err
		}
		var err error
		t, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` WHERE id = ? AND incident_id = ?`+lock(d), taskID, incidentID))
		if err != nil {
			return store.NotFound(err, fmt.Sprintf("task %d", taskID))
		}
		if t.Done {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE incident_tasks SET done = TRUE, done_by = ?, done_at = ? WHERE id = ?`,
			e.Actor, d.Time(e.At), taskID); err != nil {
			return err
		}
		t.Done, t.By, t.At = true, e.Actor, e.At
		e.IncidentID, e.Text = incidentID, t.Title
		return addEntry(ctx, tx, &e)
	})
	if err != nil {
		return incident.Task{}, fmt.Errorf("complete task %d: %w", taskID, err)
	}
	return t, nil
}

// CloseReports closes the reports that are not linked to an incident
// nor closed already, and returns how many it closed.
func (s *Store) CloseReports(ctx context.Context, ids []int64, reason string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	a := s.db.Dialect().Args()
	q := `UPDATE reports SET state = ` + a.Add(string(incident.ReportClosed)) + `, close_reason = ` + a.Add(reason) +
		` WHERE incident_id IS NULL AND state <> ` + a.Add(string(incident.ReportClosed)) + ` AND ` + sqlkit.In(a, "id", ids)
	n, err := s.db.Exec(ctx, q, a.List()...)
	if err != nil {
		return 0, fmt.Errorf("close reports: %w", err)
	}
	return int(n), nil
}

// TriageReports marks the new reports among ids triaged.
func (s *Store) TriageReports(ctx context.Context, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	a := s.db.Dialect().Args()
	q := `UPDATE reports SET state = ` + a.Add(string(incident.ReportTriaged)) + ` WHERE state = ` + a.Add(string(incident.ReportNew)) +
		` AND incident_id IS NULL AND ` + sqlkit.In(a, "id", ids)
	n, err := s.db.Exec(ctx, q, a.List()...)
	if err != nil {
		return 0, fmt.Errorf("triage reports: %w", err)
	}
	return int(n), nil
}
