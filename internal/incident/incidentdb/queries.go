package incidentdb

// The triage queue, the incident list and the searches.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// likePattern returns the LIKE pattern that finds text anywhere, its
// wildcards escaped with a backslash, lower-cased as the column is.
func likePattern(text string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(text)) + "%"
}

// like is the condition that column holds the likePattern of the
// placeholder, whatever the case of its ASCII letters. SQLite's LIKE
// ignores that case already (without case_sensitive_like), and taking
// lower() of every row's text first costs it most of a search's time;
// PostgreSQL's LIKE does not, so it compares the lower-cased column.
func (s *Store) like(column, placeholder string) string {
	if s.db.Dialect() == sqlkit.SQLite {
		return column + ` LIKE ` + placeholder + ` ESCAPE '\'`
	}
	return `lower(` + column + `) LIKE ` + placeholder + ` ESCAPE '\'`
}

// ListReports returns a page of the reports q selects and how many it
// selects; reports in a list carry no observables nor attachments
// (GetReport has them).
func (s *Store) ListReports(ctx context.Context, q incident.ReportQuery) (incident.ReportPage, error) {
	a := s.db.Dialect().Args()
	var where []string
	if len(q.States) > 0 {
		where = append(where, sqlkit.In(a, "r.state", strs(q.States)))
	}
	if len(q.Kinds) > 0 {
		where = append(where, sqlkit.In(a, "r.kind", strs(q.Kinds)))
	}
	if len(q.Channels) > 0 {
		where = append(where, sqlkit.In(a, "r.channel", strs(q.Channels)))
	}
	if q.IncidentID != 0 {
		where = append(where, "r.incident_id = "+a.Add(q.IncidentID))
	}
	if q.OrgID != 0 {
		where = append(where, "r.org_id = "+a.Add(q.OrgID))
	}
	if q.Text != "" {
		p := likePattern(q.Text)
		where = append(where, `(`+s.like("r.subject", a.Add(p))+` OR `+s.like("r.text", a.Add(p))+` OR `+s.like("r.concerned", a.Add(p))+`)`)
	}
	if q.Observable != "" {
		where = append(where, `r.id IN (SELECT report_id FROM report_observables WHERE value = `+a.Add(q.Observable)+`)`)
	}
	if !q.From.IsZero() {
		where = append(where, "r.received >= "+a.AddTime(q.From))
	}
	if !q.To.IsZero() {
		where = append(where, "r.received < "+a.AddTime(q.To))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	order := " ORDER BY r.received DESC, r.id DESC"
	if q.Oldest {
		order = " ORDER BY r.received, r.id"
	}
	var page incident.ReportPage
	err := s.db.Snapshot(ctx, func(db sqlkit.DB) error {
		var err error
		if page.Total, page.More, err = count(ctx, db, `SELECT 1 FROM reports AS r`+cond, a.List()); err != nil {
			return err
		}
		args := append(a.List()[:len(a.List()):len(a.List())], store.PageLimit(q.Limit), max(q.Offset, 0))
		limit := fmt.Sprintf(" LIMIT %s OFFSET %s", s.db.Dialect().Placeholder(len(args)-1), s.db.Dialect().Placeholder(len(args)))
		page.Reports, err = sqlkit.All(ctx, db, `SELECT `+reportColumns+cond+order+limit, args, scanReport)
		return err
	})
	if err != nil {
		return incident.ReportPage{}, fmt.Errorf("list reports: %w", err)
	}
	return page, nil
}

// openUnresolved are the statuses an overdue incident can have.
var openUnresolved = []string{string(incident.StatusNew), string(incident.StatusTriage),
	string(incident.StatusInProgress), string(incident.StatusWaiting)}

// ListIncidents returns a page of the incidents q selects, with their
// organisations, and how many it selects.
func (s *Store) ListIncidents(ctx context.Context, q incident.IncidentQuery) (incident.IncidentPage, error) {
	a := s.db.Dialect().Args()
	var where []string
	if len(q.Statuses) > 0 {
		where = append(where, sqlkit.In(a, "i.status", strs(q.Statuses)))
	}
	if q.AssigneeID != 0 {
		where = append(where, "i.assignee_id = "+a.Add(q.AssigneeID))
	}
	if q.Unassigned {
		where = append(where, "i.assignee_id IS NULL")
	}
	if len(q.Severities) > 0 {
		where = append(where, sqlkit.In(a, "i.severity", strs(q.Severities)))
	}
	if len(q.Kinds) > 0 {
		where = append(where, sqlkit.In(a, "i.kind", strs(q.Kinds)))
	}
	if q.OrgID != 0 {
		where = append(where, "i.id IN (SELECT incident_id FROM incident_orgs WHERE org_id = "+a.Add(q.OrgID)+")")
	}
	if q.Constituent != 0 {
		where = append(where, "i.merged_into IS NULL AND (i.id IN (SELECT incident_id FROM incident_orgs WHERE org_id = "+a.Add(q.Constituent)+
			") OR i.id IN (SELECT incident_id FROM reports WHERE org_id = "+a.Add(q.Constituent)+" AND incident_id IS NOT NULL))")
	}
	if len(q.TLPs) > 0 {
		where = append(where, sqlkit.In(a, "i.tlp", strs(q.TLPs)))
	}
	if q.Text != "" {
		p := likePattern(q.Text)
		where = append(where, `(`+s.like("i.title", a.Add(p))+` OR `+s.like("i.impact", a.Add(p))+`)`)
	}
	if q.Observable != "" {
		where = append(where, "i.id IN (SELECT incident_id FROM incident_observables WHERE value = "+a.Add(q.Observable)+")")
	}
	if !q.From.IsZero() {
		where = append(where, "i.created >= "+a.AddTime(q.From))
	}
	if !q.To.IsZero() {
		where = append(where, "i.created < "+a.AddTime(q.To))
	}
	if !q.OverdueAt.IsZero() {
		where = append(where, "i.due IS NOT NULL AND i.due < "+a.AddTime(q.OverdueAt)+" AND "+sqlkit.In(a, "i.status", openUnresolved))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var order string
	switch q.Sort {
	case incident.SortDue:
		order = " ORDER BY CASE WHEN i.due IS NULL THEN 1 ELSE 0 END, i.due, i.id"
	case incident.SortCreated:
		order = " ORDER BY i.created DESC, i.id DESC"
	default:
		order = " ORDER BY i.updated DESC, i.id DESC"
	}
	var page incident.IncidentPage
	err := s.db.Snapshot(ctx, func(db sqlkit.DB) error {
		var err error
		if page.Total, page.More, err = count(ctx, db, `SELECT 1 FROM incidents AS i`+cond, a.List()); err != nil {
			return err
		}
		args := append(a.List()[:len(a.List()):len(a.List())], store.PageLimit(q.Limit), max(q.Offset, 0))
		limit := fmt.Sprintf(" LIMIT %s OFFSET %s", s.db.Dialect().Placeholder(len(args)-1), s.db.Dialect().Placeholder(len(args)))
		// The page's ids first, sorted from the indexes alone (each
		// covers the columns its filter and order read), then their rows:
		// sorting thousands of whole rows to keep fifty costs ten times
		// more.
		page.Incidents, err = sqlkit.All(ctx, db, `SELECT `+incidentColumns+` WHERE i.id IN (SELECT i.id FROM incidents AS i`+
			cond+order+limit+`)`+order, args, scanIncident)
		if err != nil {
			return err
		}
		return pageOrgs(ctx, db, page.Incidents)
	})
	if err != nil {
		return incident.IncidentPage{}, fmt.Errorf("list incidents: %w", err)
	}
	return page, nil
}

// count counts the rows a query selects up to incident.CountLimit, and
// says whether there are more.
func count(ctx context.Context, db sqlkit.DB, query string, args []any) (int, bool, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM (`+query+` LIMIT `+strconv.Itoa(incident.CountLimit+1)+`) AS c`, args...).Scan(&n)
	if n > incident.CountLimit {
		return incident.CountLimit, true, err
	}
	return n, false, err
}

// pageOrgs reads the organisations of a page of incidents in one query.
func pageOrgs(ctx context.Context, db sqlkit.DB, list []incident.Incident) error {
	if len(list) == 0 {
		return nil
	}
	at := make(map[int64]int, len(list))
	ids := make([]int64, len(list))
	for i, inc := range list {
		at[inc.ID], ids[i] = i, inc.ID
	}
	a := db.Dialect().Args()
	return db.Each(ctx, `SELECT incident_id, org_id FROM incident_orgs WHERE `+sqlkit.In(a, "incident_id", ids)+` ORDER BY incident_id, org_id`,
		a.List(), func(row sqlkit.Row) error {
			var id, org int64
			if err := row.Scan(&id, &org); err != nil {
				return err
			}
			list[at[id]].OrgIDs = append(list[at[id]].OrgIDs, org)
			return nil
		})
}

func strs[T ~string](list []T) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = string(v)
	}
	return out
}

// Timeline returns an incident's timeline, oldest first.
func (s *Store) Timeline(ctx context.Context, incidentID int64) ([]incident.Entry, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT id, incident_id, at, actor, kind, text, details FROM incident_timeline
		WHERE incident_id = ? ORDER BY at, id`, []any{incidentID}, func(row sqlkit.Row) (incident.Entry, error) {
		var e incident.Entry
		var details string
		if err := row.Scan(&e.ID, &e.IncidentID, sqlkit.Time(&e.At), &e.Actor, &e.Kind, &e.Text, &details); err != nil {
			return e, err
		}
		if details != "{}" {
			if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
				return e, fmt.Errorf("entry %d: details: %w", e.ID, err)
			}
		}
		return e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("timeline of incident %d: %w", incidentID, err)
	}
	return out, nil
}

// Tasks returns an incident's tasks in the order they were added.
func (s *Store) Tasks(ctx context.Context, incidentID int64) ([]incident.Task, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT `+taskColumns+` WHERE incident_id = ? ORDER BY id`, []any{incidentID}, scanTask)
	if err != nil {
		return nil, fmt.Errorf("tasks of incident %d: %w", incidentID, err)
	}
	return out, nil
}

// PutBlob stores data under its SHA-256 unless it is there already.
func (s *Store) PutBlob(ctx context.Context, data []byte) (string, error) {
	return PutBlob(ctx, s.db, data)
}

// PutBlob is Store.PutBlob on db, the caller's transaction or the
// database: the mail intake keeps a mail's attachments in the commit of
// its report.
func PutBlob(ctx context.Context, db sqlkit.DB, data []byte) (string, error) {
	sum := incident.HashBlob(data)
	if _, err := db.Exec(ctx, `INSERT INTO incident_blobs (sha256, data, size, created) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
		sum, data, len(data), db.Dialect().Time(now())); err != nil {
		return "", fmt.Errorf("put blob: %w", err)
	}
	return sum, nil
}

// GetBlob returns the content kept under a SHA-256.
func (s *Store) GetBlob(ctx context.Context, sha256 string) ([]byte, error) {
	var data []byte
	err := s.db.QueryRow(ctx, `SELECT data FROM incident_blobs WHERE sha256 = ?`, strings.ToLower(sha256)).Scan(&data)
	return data, store.NotFound(err, "get blob "+sha256)
}
