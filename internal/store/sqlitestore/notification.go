package sqlitestore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// jsonList encodes a list column; nil and empty are both "[]".
func jsonList(list []string) (string, error) {
	if len(list) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(list)
	return string(b), err
}

// fromJSONList decodes a list column; an empty list is nil, as it was
// given.
func fromJSONList(s string) ([]string, error) {
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

const policyColumns = `org_id, enabled, taxonomies, types, feeds, immediate, digest, format, language, updated`

func scanPolicy(row interface{ Scan(...any) error }) (store.NotificationPolicy, error) {
	var (
		p                                  store.NotificationPolicy
		taxonomies, types, feeds, immediat string
		updated                            int64
	)
	if err := row.Scan(&p.OrgID, &p.Enabled, &taxonomies, &types, &feeds, &immediat, &p.Digest, &p.Format, &p.Language, &updated); err != nil {
		return store.NotificationPolicy{}, err
	}
	p.Updated = time.UnixMicro(updated).UTC()
	var err error
	for _, l := range []struct {
		dst *[]string
		src string
	}{{&p.Taxonomies, taxonomies}, {&p.Types, types}, {&p.Feeds, feeds}, {&p.Immediate, immediat}} {
		if *l.dst, err = fromJSONList(l.src); err != nil {
			return store.NotificationPolicy{}, fmt.Errorf("policy of organisation %d: %w", p.OrgID, err)
		}
	}
	return p, nil
}

// GetNotificationPolicy returns the policy of orgID (0: the team default);
// ErrNotFound when it has none.
func (s *Store) GetNotificationPolicy(ctx context.Context, orgID int64) (store.NotificationPolicy, error) {
	p, err := scanPolicy(s.read.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM notification_policies WHERE org_id = ?`, orgID))
	return p, notFound(err, fmt.Sprintf("get notification policy %d", orgID))
}

// PutNotificationPolicy creates or replaces the policy of p.OrgID; a zero
// Updated is now. ErrNotFound when p.OrgID is neither 0 nor an
// organisation.
func (s *Store) PutNotificationPolicy(ctx context.Context, p store.NotificationPolicy) error {
	what := fmt.Sprintf("put notification policy %d", p.OrgID)
	if p.Updated.IsZero() {
		p.Updated = store.RecordTime()
	}
	lists := make([]any, 0, 4)
	for _, l := range [][]string{p.Taxonomies, p.Types, p.Feeds, p.Immediate} {
		v, err := jsonList(l)
		if err != nil {
			return fmt.Errorf("sqlitestore: %s: %w", what, err)
		}
		lists = append(lists, v)
	}
	res, err := s.write.ExecContext(ctx, `INSERT INTO notification_policies (`+policyColumns+`)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
		WHERE ? = 0 OR EXISTS (SELECT 1 FROM organisations WHERE id = ?)
		ON CONFLICT (org_id) DO UPDATE SET enabled = excluded.enabled, taxonomies = excluded.taxonomies,
			types = excluded.types, feeds = excluded.feeds, immediate = excluded.immediate, digest = excluded.digest,
			format = excluded.format, language = excluded.language, updated = excluded.updated`,
		p.OrgID, p.Enabled, lists[0], lists[1], lists[2], lists[3], p.Digest, p.Format, p.Language, p.Updated.UnixMicro(),
		p.OrgID, p.OrgID)
	return affectedOne(res, err, what)
}

// DeleteNotificationPolicy removes the policy of orgID; removing a missing
// one is not an error.
func (s *Store) DeleteNotificationPolicy(ctx context.Context, orgID int64) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM notification_policies WHERE org_id = ?`, orgID); err != nil {
		return fmt.Errorf("sqlitestore: delete notification policy %d: %w", orgID, err)
	}
	return nil
}

// ListNotificationPolicies returns every policy by organisation ID, the
// team default (0) first.
func (s *Store) ListNotificationPolicies(ctx context.Context) ([]store.NotificationPolicy, error) {
	out, err := sqlkit.Query(ctx, s.read, `SELECT `+policyColumns+` FROM notification_policies ORDER BY org_id`, nil,
		func(rows *sql.Rows) (store.NotificationPolicy, error) { return scanPolicy(rows) })
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list notification policies: %w", err)
	}
	return out, nil
}

const templateColumns = `language, name, subject, body, updated, updated_by`

func scanTemplate(row interface{ Scan(...any) error }) (store.NotificationTemplate, error) {
	var (
		t       store.NotificationTemplate
		updated int64
	)
	if err := row.Scan(&t.Language, &t.Name, &t.Subject, &t.Body, &updated, &t.UpdatedBy); err != nil {
		return store.NotificationTemplate{}, err
	}
	t.Updated = time.UnixMicro(updated).UTC()
	return t, nil
}

// GetNotificationTemplate returns an override; ErrNotFound when there is
// none.
func (s *Store) GetNotificationTemplate(ctx context.Context, language, name string) (store.NotificationTemplate, error) {
	t, err := scanTemplate(s.read.QueryRowContext(ctx, `SELECT `+templateColumns+` FROM notification_templates
		WHERE language = ? AND name = ?`, language, name))
	return t, notFound(err, "get notification template "+language+"/"+name)
}

// PutNotificationTemplate creates or replaces an override; a zero Updated
// is now.
func (s *Store) PutNotificationTemplate(ctx context.Context, t store.NotificationTemplate) error {
	if t.Updated.IsZero() {
		t.Updated = store.RecordTime()
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO notification_templates (`+templateColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (language, name) DO UPDATE SET subject = excluded.subject, body = excluded.body,
			updated = excluded.updated, updated_by = excluded.updated_by`,
		t.Language, t.Name, t.Subject, t.Body, t.Updated.UnixMicro(), t.UpdatedBy); err != nil {
		return fmt.Errorf("sqlitestore: put notification template %s/%s: %w", t.Language, t.Name, err)
	}
	return nil
}

// DeleteNotificationTemplate removes an override; removing a missing one
// is not an error.
func (s *Store) DeleteNotificationTemplate(ctx context.Context, language, name string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM notification_templates WHERE language = ? AND name = ?`, language, name); err != nil {
		return fmt.Errorf("sqlitestore: delete notification template %s/%s: %w", language, name, err)
	}
	return nil
}

// ListNotificationTemplates returns every override by language and name.
func (s *Store) ListNotificationTemplates(ctx context.Context) ([]store.NotificationTemplate, error) {
	out, err := sqlkit.Query(ctx, s.read, `SELECT `+templateColumns+` FROM notification_templates ORDER BY language, name`, nil,
		func(rows *sql.Rows) (store.NotificationTemplate, error) { return scanTemplate(rows) })
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list notification templates: %w", err)
	}
	return out, nil
}

// PendingNotificationOrgs lists the organisations with pending events, by
// handle.
func (s *Store) PendingNotificationOrgs(ctx context.Context) ([]store.PendingCount, error) {
	out, err := sqlkit.Query(ctx, s.read, `SELECT org, count(*), min(stored), min(event_id), max(event_id) FROM notify_queue
		GROUP BY org ORDER BY org`, nil, func(rows *sql.Rows) (store.PendingCount, error) {
		var (
			c      store.PendingCount
			oldest int64
		)
		err := rows.Scan(&c.Org, &c.Count, &oldest, &c.First, &c.Last)
		c.Oldest = time.UnixMicro(oldest).UTC()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: pending notification organisations: %w", err)
	}
	return out, nil
}

// ListPendingNotifications returns org's pending events after afterSeq, in
// queue order, with the events (without raw and extra.constituency);
// limit is as EventQuery.Limit (default 50, at most 10000). An entry whose
// event is gone (removed by retention) comes without one, so that the
// notifier consumes it.
func (s *Store) ListPendingNotifications(ctx context.Context, org string, afterSeq int64, limit int) ([]store.PendingNotification, error) {
	st, err := s.readStmt(ctx, `SELECT q.event_id, q.stored, e.hash, e.data FROM notify_queue AS q
		LEFT JOIN events AS e ON e.id = q.event_id
		WHERE q.org = ? AND q.event_id > ? ORDER BY q.event_id LIMIT ?`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list pending notifications of %s: %w", org, err)
	}
	rows, err := st.QueryContext(ctx, org, afterSeq, store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list pending notifications of %s: %w", org, err)
	}
	out, err := sqlkit.Collect(rows, func(rows *sql.Rows) (store.PendingNotification, error) {
		var (
			p          = store.PendingNotification{Org: org}
			stored     int64
			hash, data []byte
			err        error
		)
		if err := rows.Scan(&p.Seq, &stored, &hash, &data); err != nil {
			return p, err
		}
		p.Stored = time.UnixMicro(stored).UTC()
		if hash != nil {
			copy(p.Hash[:], hash)
			if p.Event, err = decodeEvent(data); err != nil {
				return p, fmt.Errorf("event %s: %w", p.Hash, err)
			}
			store.WithoutWithheld(p.Event)
		}
		return p, nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list pending notifications of %s: %w", org, err)
	}
	return out, nil
}

// queuedEntry is one entry of the queue: an event id and the index of
// its organisation.
type queuedEntry struct {
	id  int64
	org int32
}

// ScanPendingNotifications reads the whole queue (one row per organisation,
// its event ids joined), then the events from the lowest queued id to the
// highest in the order they are stored: the first half in the calling
// goroutine, handed to fn as it is read, the second half at the same time
// on another connection, handed to fn after the first.
func (s *Store) ScanPendingNotifications(ctx context.Context, fn func(store.PendingRecord) error) error {
	var (
		orgs    []string
		entries []queuedEntry
	)
	err := sqlkit.Each(ctx, s.read, `SELECT org, group_concat(event_id) FROM notify_queue GROUP BY org ORDER BY org`, nil, func(rows *sql.Rows) error {
		var (
			org string
			ids []byte
		)
		if err := rows.Scan(&org, &ids); err != nil {
			return err
		}
		orgs = append(orgs, org)
		for len(ids) > 0 {
			field, rest, _ := bytes.Cut(ids, []byte{','})
			id, err := strconv.ParseInt(string(field), 10, 64)
			if err != nil {
				return fmt.Errorf("queue of %s: %w", org, err)
			}
			entries = append(entries, queuedEntry{id, int32(len(orgs) - 1)})
			ids = rest
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	slices.SortFunc(entries, func(a, b queuedEntry) int {
		if c := cmp.Compare(a.id, b.id); c != 0 {
			return c
		}
		return cmp.Compare(a.org, b.org)
	})
	mid := len(entries) / 2
	for mid > 0 && entries[mid-1].id == entries[mid].id {
		mid-- // one event's entries stay together
	}
	type half struct {
		records []store.PendingRecord
		err     error
	}
	second := make(chan half, 1)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		var h half
		h.err = scanEvents(sctx, s.read, orgs, entries[mid:], func(r store.PendingRecord) error {
			h.records = append(h.records, r)
			return nil
		})
		second <- h
	}()
	if err := scanEvents(ctx, s.read, orgs, entries[:mid], fn); err != nil {
		cancel()
		<-second
		return err
	}
	h := <-second
	if h.err != nil {
		return h.err
	}
	for _, r := range h.records {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// scanEvents reads the events of entries (sorted by id) in one range scan
// and calls fn for each, with its organisations; a queued event that is
// gone comes without its record.
func scanEvents(ctx context.Context, q queryer, orgs []string, entries []queuedEntry, fn func(store.PendingRecord) error) error {
	if len(entries) == 0 {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT id, hash, stored, data FROM events WHERE id BETWEEN ? AND ? ORDER BY id`,
		entries[0].id, entries[len(entries)-1].id)
	if err != nil {
		return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
	}
	defer rows.Close()
	// emit hands fn the entries of one event id, from entries[i] on, and
	// returns the index after them.
	emit := func(i int, r store.PendingRecord) (int, error) {
		r.Seq = entries[i].id
		for ; i < len(entries) && entries[i].id == r.Seq; i++ {
			r.Orgs = append(r.Orgs, orgs[entries[i].org])
		}
		return i, fn(r)
	}
	i := 0
	var hash sql.RawBytes // copied into the record's array at once
	for rows.Next() {
		var (
			r      store.PendingRecord
			id     int64
			stored int64
		)
		if err := rows.Scan(&id, &hash, &stored, &r.Record); err != nil {
			return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
		}
		for i < len(entries) && entries[i].id < id { // queued, but the event is gone
			if i, err = emit(i, store.PendingRecord{}); err != nil {
				return err
			}
		}
		if i == len(entries) || entries[i].id != id {
			continue // not queued
		}
		copy(r.Hash[:], hash)
		r.Stored = time.UnixMicro(stored).UTC()
		if i, err = emit(i, r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
	}
	for i < len(entries) {
		if i, err = emit(i, store.PendingRecord{}); err != nil {
			return err
		}
	}
	return nil
}

// GetNotifiedKeys returns those of keys told to org that expire after now.
func (s *Store) GetNotifiedKeys(ctx context.Context, org string, keys []event.Hash, now time.Time) (map[event.Hash]store.NotifiedKey, error) {
	out := make(map[event.Hash]store.NotifiedKey)
	if len(keys) == 0 {
		return out, nil
	}
	st, err := s.readStmt(ctx, `SELECT keys FROM notified_sets WHERE org = ? AND expires > ? ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get notified keys of %s: %w", org, err)
	}
	rows, err := st.QueryContext(ctx, org, now.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get notified keys of %s: %w", org, err)
	}
	sets, err := sqlkit.Collect(rows, func(rows *sql.Rows) (store.ToldSet, error) {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		if !store.ToldSet(b).Valid() {
			return nil, store.ErrBadKeySet
		}
		return b, nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get notified keys of %s: %w", org, err)
	}
	return store.FindTold(sets, org, keys, now), nil
}

// ListRepeatedKeys returns org's "seen again" tally (every organisation's
// for org ""), the entries that expire after now.
func (s *Store) ListRepeatedKeys(ctx context.Context, org string, now time.Time) ([]store.NotifiedKey, error) {
	query, args := `SELECT org, tally FROM notify_tallies ORDER BY org`, []any(nil)
	if org != "" {
		query, args = `SELECT org, tally FROM notify_tallies WHERE org = ?`, []any{org}
	}
	var out []store.NotifiedKey
	err := sqlkit.Each(ctx, s.read, query, args, func(rows *sql.Rows) error {
		var (
			handle string
			b      []byte
		)
		if err := rows.Scan(&handle, &b); err != nil {
			return err
		}
		list, err := store.DecodeTally(handle, b, now)
		if err != nil {
			return fmt.Errorf("%s: %w", handle, err)
		}
		out = append(out, list...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list repeated keys: %w", err)
	}
	return out, nil
}

// PruneNotifiedKeys removes the sets whose keys all expired before now,
// and merges the sets of organisations that have many. (Expired entries
// of a live set or a tally are skipped when read, and go when the sets
// are merged or the tally rewritten.)
func (s *Store) PruneNotifiedKeys(ctx context.Context, now time.Time) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM notified_sets WHERE expires < ?`, now.UnixMicro()); err != nil {
		return fmt.Errorf("sqlitestore: prune notified keys: %w", err)
	}
	if err := s.compactSets(ctx, now); err != nil {
		return fmt.Errorf("sqlitestore: prune notified keys: compact: %w", err)
	}
	return nil
}

// NotifiedOrganisations returns the organisations told something that
// has not expired at now.
func (s *Store) NotifiedOrganisations(ctx context.Context, now time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	err := sqlkit.Each(ctx, s.read, `SELECT DISTINCT org FROM notified_sets WHERE expires > ?`, []any{now.UnixMicro()}, func(rows *sql.Rows) error {
		var org string
		if err := rows.Scan(&org); err != nil {
			return err
		}
		out[org] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: notified organisations: %w", err)
	}
	return out, nil
}

// rowsPerStatement is how many rows one INSERT or DELETE of
// CommitNotifications carries, and parametersPerStatement bounds its
// parameters (SQLite allows 32766). Compiling a statement costs as much as
// running it for many rows, so a commit binds many rows a statement and
// compiles the statement of a full chunk once (multiRow).
const (
	rowsPerStatement       = 500
	parametersPerStatement = 1000
)

// valueRows returns n rows of columns placeholders: "(?, ?), (?, ?)".
func valueRows(columns, n int) string {
	row := "(?" + strings.Repeat(", ?", columns-1) + ")"
	return row + strings.Repeat(", "+row, n-1)
}

// multiRow runs statement(k) for n rows in chunks of k rows, k at most
// rowsPerStatement and columns*k at most parametersPerStatement; args
// appends the parameters of row i. The statement of a full chunk is
// prepared once and reused, only a short last chunk compiles its own.
func multiRow(ctx context.Context, tx *sql.Tx, n, columns int, statement func(rows int) string, args func(dst []any, i int) []any) error {
	per := min(rowsPerStatement, parametersPerStatement/columns)
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	buf := make([]any, 0, per*columns)
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		buf = buf[:0]
		for i := start; i < end; i++ {
			buf = args(buf, i)
		}
		var err error
		if end-start < per {
			_, err = tx.ExecContext(ctx, statement(end-start), buf...)
		} else {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, statement(per)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, buf...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// compactAbove is how many sets an organisation may have before
// PruneNotifiedKeys merges them into one, so that a lookup reads few rows
// however often the organisation is told something.
const compactAbove = 16

// commitStatements are the statements CommitNotifications runs once per
// organisation, prepared once per commit.
type commitStatements struct {
	countRange, deleteRange, delete *sql.Stmt
}

func (c *commitStatements) prepare(ctx context.Context, tx *sql.Tx) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&c.countRange, `SELECT count(*) FROM notify_queue WHERE org = ? AND event_id BETWEEN ? AND ?`},
		{&c.deleteRange, `DELETE FROM notify_queue WHERE org = ? AND event_id BETWEEN ? AND ?`},
		{&c.delete, `DELETE FROM notify_queue WHERE org = ? AND event_id IN (SELECT value FROM json_each(?))`},
	} {
		st, err := tx.PrepareContext(ctx, p.query)
		if err != nil {
			return err
		}
		*p.dst = st
	}
	return nil
}

func (c *commitStatements) close() {
	for _, st := range []*sql.Stmt{c.countRange, c.deleteRange, c.delete} {
		if st != nil {
			st.Close()
		}
	}
}

// consume removes org's consumed queue entries: one range when they are
// all its entries between the first and the last (the usual case, a
// digest), else one by one.
func (c *commitStatements) consume(ctx context.Context, org string, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	seqs = slices.Compact(slices.Sorted(slices.Values(seqs)))
	lo, hi := seqs[0], seqs[len(seqs)-1]
	var n int
	if err := c.countRange.QueryRowContext(ctx, org, lo, hi).Scan(&n); err != nil {
		return err
	}
	if n == len(seqs) {
		_, err := c.deleteRange.ExecContext(ctx, org, lo, hi)
		return err
	}
	_, err := c.delete.ExecContext(ctx, org, int64List(seqs))
	return err
}

// tell stores the newly told keys, one set per organisation, all under one
// new set id.
func tell(ctx context.Context, tx *sql.Tx, keys []store.NotifiedKey) error {
	if len(keys) == 0 {
		return nil
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM notified_sets`).Scan(&id); err != nil {
		return err
	}
	orgs, sets, expires := store.ToldSetsByOrg(keys)
	return multiRow(ctx, tx, len(orgs), 4, func(n int) string {
		return `INSERT INTO notified_sets (org, id, expires, keys) VALUES ` + valueRows(4, n)
	}, func(dst []any, i int) []any {
		return append(dst, orgs[i], id, expires[i].UnixMicro(), sets[i])
	})
}

// writeTallies replaces the tallies of the organisations in tallies; an
// empty list removes one.
func writeTallies(ctx context.Context, tx *sql.Tx, tallies map[string][]store.NotifiedKey) error {
	for _, org := range slices.Sorted(maps.Keys(tallies)) {
		var err error
		if list := tallies[org]; len(list) == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM notify_tallies WHERE org = ?`, org)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO notify_tallies (org, tally) VALUES (?, ?)
				ON CONFLICT (org) DO UPDATE SET tally = excluded.tally`, org, store.EncodeTally(list))
		}
		if err != nil {
			return fmt.Errorf("tally of %s: %w", org, err)
		}
	}
	return nil
}

// compactSets merges the sets of every organisation with more than
// compactAbove into one.
func (s *Store) compactSets(ctx context.Context, now time.Time) error {
	orgs, err := sqlkit.Query(ctx, s.read, `SELECT org FROM notified_sets GROUP BY org HAVING count(*) > ?`, []any{compactAbove}, sqlkit.RowTo[string])
	if err != nil {
		return err
	}
	for _, org := range orgs {
		if err := s.compactOrgSets(ctx, org, now); err != nil {
			return fmt.Errorf("%s: %w", org, err)
		}
	}
	return nil
}

func (s *Store) compactOrgSets(ctx context.Context, org string, now time.Time) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var (
		sets []store.ToldSet
		last int64
	)
	err = sqlkit.Each(ctx, tx, `SELECT id, keys FROM notified_sets WHERE org = ? ORDER BY id`, []any{org}, func(rows *sql.Rows) error {
		var b []byte
		if err := rows.Scan(&last, &b); err != nil {
			return err
		}
		if store.ToldSet(b).Valid() { // a damaged set is dropped
			sets = append(sets, b)
		}
		return nil
	})
	if err != nil {
		return err
	}
	set, expires := store.MergeToldSets(org, sets, now)
	if _, err := tx.ExecContext(ctx, `DELETE FROM notified_sets WHERE org = ?`, org); err != nil {
		return err
	}
	if len(set) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notified_sets (org, id, expires, keys) VALUES (?, ?, ?, ?)`, org, last, expires.UnixMicro(), set); err != nil {
			return err
		}
	}
	return tx.Commit()
}

const insertMessageSQL = `INSERT INTO outbox_messages (org_id, org, kind, sender, recipients, subject, message_id,
	body, size, events, encrypted, status, attempts, next_attempt, last_error, reply, created, sent,
	first_event, last_event, event_ids)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// int64List is list as a JSON array, for json_each.
func int64List(list []int64) string {
	b := make([]byte, 0, len(list)*8+2)
	b = append(b, '[')
	for i, v := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return string(append(b, ']'))
}

// CommitNotifications stores one pass of the notifier in one transaction:
// the messages (with the events they report), the keys told, the tallies,
// the state, and the removal of the consumed pending notifications. It
// sets the messages' IDs, and fills in their Size, a zero Status (queued),
// Created (now) and NextAttempt (Created: due at once). On error nothing
// is stored and c is unchanged.
func (s *Store) CommitNotifications(ctx context.Context, c *store.NotificationCommit) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: %w", err)
	}
	defer tx.Rollback()
	messages := make([]store.OutboxMessage, len(c.Messages))
	copy(messages, c.Messages)
	at := store.RecordTime()
	if len(messages) > 0 {
		insert, err := tx.PrepareContext(ctx, insertMessageSQL)
		if err != nil {
			return fmt.Errorf("sqlitestore: commit notifications: %w", err)
		}
		defer insert.Close()
		for i := range messages {
			m := &messages[i]
			store.PrepareMessage(m, at)
			recipients, err := jsonList(m.Recipients)
			if err != nil {
				return fmt.Errorf("sqlitestore: commit notifications: message %d: %w", i+1, err)
			}
			body := m.Body
			if body == nil {
				body = []byte{}
			}
			list, first, last := store.EncodeEventIDs(m.EventIDs)
			res, err := insert.ExecContext(ctx, m.OrgID, m.Org, m.Kind, m.Sender, recipients, m.Subject, nullText(m.MessageID),
				body, m.Size, m.Events, m.Encrypted, m.Status, m.Attempts, m.NextAttempt.UnixMicro(), m.LastError, m.Reply,
				m.Created.UnixMicro(), micros(m.Sent), nullInt(first), nullInt(last), list)
			if isUnique(err) {
				return fmt.Errorf("sqlitestore: commit notifications: message %d: Message-ID %s: %w", i+1, m.MessageID, store.ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("sqlitestore: commit notifications: message %d: %w", i+1, err)
			}
			if m.ID, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("sqlitestore: commit notifications: message %d: %w", i+1, err)
			}
		}
	}
	var st commitStatements
	defer st.close()
	if err := st.prepare(ctx, tx); err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: %w", err)
	}
	if err := tell(ctx, tx, c.Told); err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: keys: %w", err)
	}
	if err := writeTallies(ctx, tx, c.Repeats); err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: %w", err)
	}
	if len(c.State) > 0 {
		keys := slices.Sorted(maps.Keys(c.State))
		err = multiRow(ctx, tx, len(keys), 2, func(n int) string {
			return `INSERT INTO state (key, value) VALUES ` + valueRows(2, n) + `
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`
		}, func(dst []any, i int) []any {
			v := c.State[keys[i]]
			if v == nil {
				v = []byte{}
			}
			return append(dst, keys[i], v)
		})
		if err != nil {
			return fmt.Errorf("sqlitestore: commit notifications: state: %w", err)
		}
	}
	for _, org := range slices.Sorted(maps.Keys(c.Done)) {
		if err := st.consume(ctx, org, c.Done[org]); err != nil {
			return fmt.Errorf("sqlitestore: commit notifications: consume pending of %s: %w", org, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: %w", err)
	}
	copy(c.Messages, messages)
	return nil
}

// migrateNotifyLayout is the Go step of migration 3: the rows of
// message_events become the lists of their messages, and those of
// notified_keys one set and one tally per organisation.
func migrateNotifyLayout(ctx context.Context, tx *sql.Tx) error {
	byMessage := map[int64][]int64{}
	err := sqlkit.Each(ctx, tx, `SELECT m.message_id, e.id FROM message_events AS m JOIN events AS e ON e.hash = m.event_hash`, nil,
		func(rows *sql.Rows) error {
			var msg, ev int64
			if err := rows.Scan(&msg, &ev); err != nil {
				return err
			}
			byMessage[msg] = append(byMessage[msg], ev)
			return nil
		})
	if err != nil {
		return fmt.Errorf("read message_events: %w", err)
	}
	for msg, ids := range byMessage {
		list, first, last := store.EncodeEventIDs(ids)
		if _, err := tx.ExecContext(ctx, `UPDATE outbox_messages SET first_event = ?, last_event = ?, event_ids = ? WHERE id = ?`,
			first, last, list, msg); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE message_events`); err != nil {
		return err
	}
	return convertNotifiedKeys(ctx, tx)
}

// convertNotifiedKeys turns the rows of notified_keys into one set and one
// tally per organisation.
func convertNotifiedKeys(ctx context.Context, tx *sql.Tx) error {
	var all []store.NotifiedKey
	err := sqlkit.Each(ctx, tx, `SELECT org, key, first_sent, expires, repeats, summary FROM notified_keys`, nil, func(rows *sql.Rows) error {
		var (
			k              store.NotifiedKey
			key            []byte
			first, expires int64
		)
		if err := rows.Scan(&k.Org, &key, &first, &expires, &k.Repeats, &k.Summary); err != nil {
			return err
		}
		copy(k.Key[:], key)
		k.FirstSent, k.Expires = time.UnixMicro(first).UTC(), time.UnixMicro(expires).UTC()
		all = append(all, k)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read notified_keys: %w", err)
	}
	if err := tell(ctx, tx, all); err != nil {
		return err
	}
	if err := writeTallies(ctx, tx, store.RepeatedByOrg(all)); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DROP TABLE notified_keys`)
	return err
}
