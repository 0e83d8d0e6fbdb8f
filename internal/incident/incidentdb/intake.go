package incidentdb

// Receiving a report and grouping it.

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// ReceiveReport stores r and groups it (see incident.Intake), in one
// transaction.
//
// The grouping keys' rows (incident_groups) are what two receivers of
// one URL meet on: each receiver inserts the rows of its keys that do not
// exist yet (ON CONFLICT DO NOTHING, which in PostgreSQL waits for
// another transaction's uncommitted insert of the same key) and locks the
// others (FOR UPDATE), always in the keys' order, so no two receivers
// deadlock. With its keys locked, a receiver sees the last word on each:
// an open incident holds it (link), a new report holds it (open an
// incident of both), or nothing does (hold it). SQLite has one writer,
// which serialises receivers already.
func (s *Store) ReceiveReport(ctx context.Context, r *incident.Report, g incident.Grouping) (incident.Receipt, error) {
	var receipt incident.Receipt
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		var err error
		receipt, err = receive(ctx, tx, r, g)
		return err
	})
	if err != nil {
		return incident.Receipt{}, fmt.Errorf("receive report: %w", err)
	}
	return receipt, nil
}

// Receive is ReceiveReport in a transaction the caller opened, for a
// caller that writes something else in the same commit (the mail intake
// marks the mail done with mailindb.MarkDone). r and g come from
// incident.Service.Prepare.
func Receive(ctx context.Context, tx sqlkit.DB, r *incident.Report, g incident.Grouping) (incident.Receipt, error) {
	return receive(ctx, tx, r, g)
}

func receive(ctx context.Context, tx sqlkit.DB, r *incident.Report, g incident.Grouping) (incident.Receipt, error) {
	// A reply carrying an incident's tag threads onto it, open or not:
	// the analyst sees it on the timeline.
	var threadID int64
	if !g.Tag.IsZero() {
		id, _, err := incidentByTag(ctx, tx, g.Tag)
		if err != nil {
			return incident.Receipt{}, err
		}
		threadID = id
	}
	if threadID != 0 && r.Reporter.OrgID != 0 {
		// A constituent sees the incidents its reports are linked to: a
		// mail from its contact that names the tag of an incident not
		// concerning it is linked as anyone's, not as the
		// organisation's, or typing a tag would show it any incident.
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM incident_orgs WHERE incident_id = ? AND org_id = ?`,
			threadID, r.Reporter.OrgID).Scan(&n); err != nil {
			return incident.Receipt{}, err
		}
		if n == 0 {
			r.Reporter.OrgID = 0
		}
	}
	if err := insertReport(ctx, tx, r); err != nil {
		return incident.Receipt{}, err
	}
	receipt := incident.Receipt{ReportID: r.ID, Tracking: r.Tracking}
	kind := incident.EntryReportLinked
	if r.Channel == incident.ChannelEmail {
		kind = incident.EntryMailIn
	}
	entry := incident.Entry{At: r.Received, Kind: kind, Text: r.Subject,
		Details: map[string]string{"report": strconv.FormatInt(r.ID, 10), "tracking": r.Tracking, "channel": string(r.Channel)}}
	if threadID != 0 {
		if err := linkReceived(ctx, tx, threadID, r, entry, nil); err != nil {
			return receipt, err
		}
		receipt.IncidentID, receipt.Tag = threadID, tagOf(ctx, tx, threadID)
		return receipt, nil
	}
	incidentID, partner, err := claimKeys(ctx, tx, r.ID, g.Keys)
	if err != nil {
		return receipt, err
	}
	if incidentID == 0 && partner != 0 {
		// The second report of something: open an incident of both. The
		// partner is taken only while it is still new.
		n, err := tx.Exec(ctx, `UPDATE reports SET state = ? WHERE id = ? AND state = ? AND incident_id IS NULL`,
			string(incident.ReportLinked), partner, string(incident.ReportNew))
		if err != nil {
			return receipt, err
		}
		if n == 1 {
			open := g.Open
			open.Created, open.Updated = r.Received, r.Received
			if err := insertIncident(ctx, tx, &open); err != nil {
				return receipt, err
			}
			created := incident.Entry{IncidentID: open.ID, At: r.Received, Kind: incident.EntryCreated, Text: open.Title,
				Details: map[string]string{"reports": strconv.FormatInt(partner, 10)}}
			if err := addEntry(ctx, tx, &created); err != nil {
				return receipt, err
			}
			pe := incident.Entry{At: r.Received, Kind: incident.EntryReportLinked,
				Details: map[string]string{"report": strconv.FormatInt(partner, 10)}}
			if _, err := linkReports(ctx, tx, open.ID, []int64{partner}, pe); err != nil {
				return receipt, err
			}
			if err := holdKeys(ctx, tx, open.ID, []int64{partner}); err != nil {
				return receipt, err
			}
			incidentID, receipt.Opened = open.ID, true
		}
	}
	if incidentID == 0 {
		return receipt, nil
	}
	if err := linkReceived(ctx, tx, incidentID, r, entry, g.Keys); err != nil {
		return receipt, err
	}
	receipt.IncidentID, receipt.Tag = incidentID, tagOf(ctx, tx, incidentID)
	return receipt, nil
}

// linkReceived links the report just received to an incident and gives
// the incident the report's keys that no open incident holds.
func linkReceived(ctx context.Context, tx sqlkit.DB, incidentID int64, r *incident.Report, e incident.Entry, keys []string) error {
	if _, err := linkReports(ctx, tx, incidentID, []int64{r.ID}, e); err != nil {
		return err
	}
	r.State, r.IncidentID = incident.ReportLinked, incidentID
	for _, key := range keys {
		if _, err := tx.Exec(ctx, `UPDATE incident_groups SET incident_id = ?, report_id = NULL WHERE key = ? AND report_id = ?`,
			incidentID, key, r.ID); err != nil {
			return err
		}
	}
	return nil
}

// claimKeys locks the rows of the report's keys, in the keys' order,
// then the incidents holding them, in the order of their ids (so that
// two receivers, whatever their keys, take their locks in one global
// order: keys, then incidents), and returns the open incident of the
// lowest id that holds one of them, or else a new report that does; keys
// nobody holds (or a closed incident or a handled report held) pass to
// the report.
func claimKeys(ctx context.Context, tx sqlkit.DB, reportID int64, keys []string) (incidentID, partner int64, err error) {
	type held struct {
		key              string
		incident, report int64
	}
	var taken []held
	for _, key := range keys {
		n, err := tx.Exec(ctx, `INSERT INTO incident_groups (key, report_id) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, reportID)
		if err != nil {
			return 0, 0, err
		}
		if n == 1 {
			continue
		}
		h := held{key: key}
		if err := tx.QueryRow(ctx, `SELECT incident_id, report_id FROM incident_groups WHERE key = ?`+lock(tx.Dialect()), key).
			Scan(nullInt{&h.incident}, nullInt{&h.report}); err != nil {
			return 0, 0, err
		}
		taken = append(taken, h)
	}
	var incidents []int64
	for _, h := range taken {
		if h.incident != 0 {
			incidents = append(incidents, h.incident)
		}
	}
	slices.Sort(incidents)
	open := map[int64]bool{}
	for _, id := range slices.Compact(incidents) {
		survivor, isOpen, err := followMerges(ctx, tx, id)
		if err != nil {
			return 0, 0, err
		}
		if isOpen {
			open[id] = true
			if incidentID == 0 {
				incidentID = survivor
			}
		}
	}
	for _, h := range taken {
		switch {
		case h.incident != 0 && open[h.incident]:
			continue
		case h.incident == 0 && h.report != 0 && h.report != reportID:
			var state string
			if err := tx.QueryRow(ctx, `SELECT state FROM reports WHERE id = ?`, h.report).Scan(&state); err != nil {
				return 0, 0, err
			}
			if state == string(incident.ReportNew) {
				if partner == 0 {
					partner = h.report
				}
				continue
			}
		}
		// Held by a closed incident or a report handled since: the key
		// passes to this report.
		if _, err := tx.Exec(ctx, `UPDATE incident_groups SET incident_id = NULL, report_id = ? WHERE key = ?`, reportID, h.key); err != nil {
			return 0, 0, err
		}
	}
	if incidentID != 0 {
		partner = 0
	}
	return incidentID, partner, nil
}

// followMerges returns the incident that id was merged into, through a
// chain of merges, and whether it is open. It locks the incidents it
// reads (in PostgreSQL), so that what it says holds until the
// transaction ends: a merge or a close that commits meanwhile is waited
// for and seen (the rows read again after the wait).
func followMerges(ctx context.Context, tx sqlkit.DB, id int64) (int64, bool, error) {
	for range maxMergeHops {
		var status string
		var merged int64
		if err := tx.QueryRow(ctx, `SELECT status, merged_into FROM incidents WHERE id = ?`+lock(tx.Dialect()), id).
			Scan(&status, nullInt{&merged}); err != nil {
			return 0, false, err
		}
		if merged == 0 {
			return id, incident.Status(status).Open(), nil
		}
		id = merged
	}
	return id, false, nil
}

// incidentByTag returns the incident a tag names (the one it was merged
// into, if it was), 0 for none.
func incidentByTag(ctx context.Context, tx sqlkit.DB, tag incident.Tag) (int64, bool, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM incidents WHERE year = ? AND seq = ?`, tag.Year, tag.Seq).Scan(&id)
	if tx.IsNoRows(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return followMerges(ctx, tx, id)
}

func tagOf(ctx context.Context, tx sqlkit.DB, id int64) incident.Tag {
	var t incident.Tag
	tx.QueryRow(ctx, `SELECT year, seq FROM incidents WHERE id = ?`, id).Scan(&t.Year, &t.Seq)
	return t
}

// insertReport stores r with its observables and attachments, and sets
// its ID and tracking number. The tracking number is the year and the
// report's id: unique without a counter every receiver would wait on.
func insertReport(ctx context.Context, tx sqlkit.DB, r *incident.Report) error {
	d := tx.Dialect()
	if r.State == "" {
		r.State = incident.ReportNew
	}
	id, err := tx.Insert(ctx, `INSERT INTO reports (token_hash, channel, kind, received, reporter_name, reporter_email, reporter_phone,
		org_id, language, subject, text, concerned, state, close_reason, incident_id, split_from)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
		r.TokenHash, string(r.Channel), string(r.Kind), d.Time(r.Received), r.Reporter.Name, r.Reporter.Email, r.Reporter.Phone,
		nullID(r.Reporter.OrgID), r.Language, r.Subject, r.Text, r.Concerned, string(r.State), r.CloseReason, nullID(r.SplitFrom))
	if err != nil {
		return fmt.Errorf("insert report: %w", err)
	}
	r.ID, r.IncidentID = id, 0
	r.Tracking = incident.FormatTracking(r.Received.Year(), int(id))
	if _, err := tx.Exec(ctx, `UPDATE reports SET tracking = ? WHERE id = ?`, r.Tracking, id); err != nil {
		return err
	}
	if err := insertObservables(ctx, tx, id, r.Observables); err != nil {
		return err
	}
	for _, a := range r.Attachments {
		if err := insertAttachment(ctx, tx, "report_id", id, a); err != nil {
			return err
		}
	}
	return nil
}

// insertObservables adds observables to a report, several rows a
// statement, those it has already left as they are.
func insertObservables(ctx context.Context, tx sqlkit.DB, reportID int64, obs []extract.Observable) error {
	err := sqlkit.MultiRow(ctx, tx, len(obs), 3, func(n int) string {
		return `INSERT INTO report_observables (report_id, kind, value) VALUES ` + sqlkit.ValueRows(3, n) + ` ON CONFLICT DO NOTHING`
	}, func(dst []any, i int) []any {
		return append(dst, reportID, string(obs[i].Kind), obs[i].Value)
	})
	if err != nil {
		return fmt.Errorf("insert observables: %w", err)
	}
	return nil
}

// insertAttachment attaches a stored blob to the report or the incident
// (column report_id or incident_id) id.
func insertAttachment(ctx context.Context, tx sqlkit.DB, column string, id int64, a incident.Attachment) error {
	_, err := tx.Exec(ctx, `INSERT INTO incident_attachments (`+column+`, sha256, name, content_type, size) VALUES (?, ?, ?, ?, ?)`,
		id, a.SHA256, a.Name, a.ContentType, a.Size)
	if tx.IsForeignKey(err) {
		return fmt.Errorf("attachment %s: no blob stored under this hash: %w", a.SHA256, errNotFound)
	}
	return err
}

// insertIncident stores inc with its organisations, setting its ID and
// tag from the year of its creation.
func insertIncident(ctx context.Context, tx sqlkit.DB, inc *incident.Incident) error {
	d := tx.Dialect()
	year := inc.Created.Year()
	var seq int
	if err := tx.QueryRow(ctx, `INSERT INTO incident_counters (name, year, last) VALUES ('incident', ?, 1)
		ON CONFLICT (name, year) DO UPDATE SET last = incident_counters.last + 1 RETURNING last`, year).Scan(&seq); err != nil {
		return fmt.Errorf("next incident number: %w", err)
	}
	id, err := tx.Insert(ctx, `INSERT INTO incidents (year, seq, title, kind, taxonomy, type, tlp, pap, severity, impact, assignee_id,
		status, status_reason, created, updated, due, closed, reports, merged_into)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL)`,
		year, seq, inc.Title, string(inc.Kind), inc.Taxonomy, inc.Type, string(inc.TLP), string(inc.PAP), string(inc.Severity),
		inc.Impact, nullID(inc.AssigneeID), string(inc.Status), inc.StatusReason, d.Time(inc.Created), d.Time(inc.Updated),
		d.NullTime(inc.Due), d.NullTime(inc.Closed))
	if tx.IsForeignKey(err) {
		return fmt.Errorf("insert incident: assignee %d: %w", inc.AssigneeID, errNoAccount)
	}
	if err != nil {
		return fmt.Errorf("insert incident: %w", err)
	}
	inc.ID, inc.Tag, inc.Reports = id, incident.Tag{Year: year, Seq: seq}, 0
	return setOrgs(ctx, tx, id, inc.OrgIDs)
}

func setOrgs(ctx context.Context, tx sqlkit.DB, id int64, orgs []int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM incident_orgs WHERE incident_id = ?`, id); err != nil {
		return err
	}
	for _, org := range orgs {
		if _, err := tx.Exec(ctx, `INSERT INTO incident_orgs (incident_id, org_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, org); err != nil {
			return err
		}
	}
	return nil
}

// linkReports links reports to an incident in tx, locking the incident,
// then each report; a report moved from another incident drops that
// one's counter after its own lock. A known rare case: an analyst moving
// a report out of an incident that another analyst merges at that very
// moment takes the two rows in the merge's opposite order; PostgreSQL
// then fails one of the two transactions as a deadlock, and nothing of it
// is written (its author tries again).
//
// linkReports links reports to an incident in tx: they leave any other
// incident (whose counter drops), the incident's counter rises, it takes
// their observables, and e, one for each report, goes on its timeline
// (Details "report" set to each).
func linkReports(ctx context.Context, tx sqlkit.DB, incidentID int64, reportIDs []int64, e incident.Entry) (int, error) {
	at := e.At
	if at.IsZero() {
		at = now()
	}
	d := tx.Dialect()
	var status string
	var merged int64
	linked := 0
	if err := tx.QueryRow(ctx, `SELECT status, merged_into FROM incidents WHERE id = ?`+lock(d), incidentID).
		Scan(&status, nullInt{&merged}); err != nil {
		return 0, store.NotFound(err, fmt.Sprintf("incident %d", incidentID))
	}
	if merged != 0 {
		return 0, incident.Refuse("incident.error.merged", merged)
	}
	for _, id := range reportIDs {
		var prev int64
		if err := tx.QueryRow(ctx, `SELECT incident_id FROM reports WHERE id = ?`+lock(d), id).Scan(nullInt{&prev}); err != nil {
			return 0, store.NotFound(err, fmt.Sprintf("report %d", id))
		}
		if prev == incidentID {
			continue
		}
		if prev != 0 {
			if _, err := tx.Exec(ctx, `UPDATE incidents SET reports = reports - 1, updated = ? WHERE id = ?`, d.Time(at), prev); err != nil {
				return 0, err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE reports SET incident_id = ?, state = ?, close_reason = '' WHERE id = ?`,
			incidentID, string(incident.ReportLinked), id); err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO incident_observables (incident_id, kind, value)
			SELECT ?, kind, value FROM report_observables WHERE report_id = ? ON CONFLICT DO NOTHING`, incidentID, id); err != nil {
			return 0, err
		}
		linked++
		entry := e
		entry.IncidentID, entry.At = incidentID, at
		entry.Details = map[string]string{"report": strconv.FormatInt(id, 10)}
		for k, v := range e.Details {
			if k != "reports" {
				entry.Details[k] = v
			}
		}
		if err := addEntry(ctx, tx, &entry); err != nil {
			return 0, err
		}
	}
	if linked > 0 {
		if _, err := tx.Exec(ctx, `UPDATE incidents SET reports = reports + ?, updated = ? WHERE id = ?`, linked, d.Time(at), incidentID); err != nil {
			return 0, err
		}
	}
	return linked, nil
}
