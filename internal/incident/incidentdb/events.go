package incidentdb

// The events incidents hold (incident.EventCases).

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

var _ incident.EventCases = (*Store)(nil)

// AddEvents links events to an incident, with their observables and
// organisations, and writes e when any event was new.
func (s *Store) AddEvents(ctx context.Context, incidentID int64, events []incident.EventLink, observables []extract.Observable,
	orgIDs []int64, e incident.Entry) (int, error) {
	var n int
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		d := tx.Dialect()
		// The incident first, locked, as every change of it takes it.
		var merged int64
		if err := tx.QueryRow(ctx, `SELECT merged_into FROM incidents WHERE id = ?`+lock(d), incidentID).Scan(nullInt{&merged}); err != nil {
			return store.NotFound(err, fmt.Sprintf("incident %d", incidentID))
		}
		if merged != 0 {
			return incident.Refuse("incident.error.merged", merged)
		}
		n = 0
		for _, l := range events {
			added, err := tx.Exec(ctx, `INSERT INTO incident_events (incident_id, event_hash, event_time, type, source_ip, fqdn, url,
				organisations, added, added_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				incidentID, l.Hash, d.NullTime(l.Time), l.Type, l.SourceIP, l.FQDN, l.URL, strings.Join(l.Organisations, ","),
				d.Time(l.Added), l.AddedBy)
			if err != nil {
				return err
			}
			n += int(added)
		}
		if n == 0 {
			return nil
		}
		for _, o := range observables {
			if _, err := tx.Exec(ctx, `INSERT INTO incident_observables (incident_id, kind, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
				incidentID, string(o.Kind), o.Value); err != nil {
				return err
			}
		}
		for _, org := range orgIDs {
			if _, err := tx.Exec(ctx, `INSERT INTO incident_orgs (incident_id, org_id) VALUES (?, ?) ON CONFLICT DO NOTHING`,
				incidentID, org); err != nil {
				return err
			}
		}
		if err := touch(ctx, tx, incidentID, e.At); err != nil {
			return err
		}
		if e.Details == nil {
			e.Details = map[string]string{}
		}
		e.Details["events"] = strconv.Itoa(n)
		e.IncidentID = incidentID
		return addEntry(ctx, tx, &e)
	})
	if err != nil {
		return 0, fmt.Errorf("add events to incident %d: %w", incidentID, err)
	}
	return n, nil
}

// IncidentEvents returns a page of an incident's events, the latest added
// first, and how many it holds.
func (s *Store) IncidentEvents(ctx context.Context, incidentID int64, limit, offset int) (incident.EventPage, error) {
	if limit <= 0 {
		limit = 50
	}
	var p incident.EventPage
	err := s.db.Snapshot(ctx, func(db sqlkit.DB) error {
		if err := db.QueryRow(ctx, `SELECT count(*) FROM incident_events WHERE incident_id = ?`, incidentID).Scan(&p.Total); err != nil {
			return err
		}
		var err error
		p.Events, err = sqlkit.All(ctx, db, `SELECT incident_id, event_hash, event_time, type, source_ip, fqdn, url, organisations,
			added, added_by FROM incident_events WHERE incident_id = ? ORDER BY added DESC, event_time DESC, event_hash LIMIT ? OFFSET ?`,
			[]any{incidentID, limit, offset}, scanEventLink)
		return err
	})
	if err != nil {
		return incident.EventPage{}, fmt.Errorf("events of incident %d: %w", incidentID, err)
	}
	return p, nil
}

func scanEventLink(row sqlkit.Row) (incident.EventLink, error) {
	var l incident.EventLink
	var orgs string
	err := row.Scan(&l.IncidentID, &l.Hash, sqlkit.Time(&l.Time), &l.Type, &l.SourceIP, &l.FQDN, &l.URL, &orgs,
		sqlkit.Time(&l.Added), &l.AddedBy)
	if orgs != "" {
		l.Organisations = strings.Split(orgs, ",")
	}
	return l, err
}
