package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// insertColumns are the columns InsertEvents writes, one placeholder each.
const insertColumns = `hash, time_source, stored, feed, taxonomy, type, tlp,
	src_ip, dst_ip, src_asn, dst_asn, src_fqdn, dst_fqdn, src_url, dst_url, md5, sha1, sha256, data`

const columnsPerRow = 19

// rowsPerInsert is how many events one INSERT statement carries. Several
// rows a statement save the per-statement cost (a trip through
// database/sql, binding, stepping, resetting): measured on a table without
// indexes, 18 → 14 µs of CPU per event. 64 rows are 1216 parameters, well
// under SQLite's limit of 32766.
const rowsPerInsert = 64

// insertEventsSQL returns the INSERT of n rows.
func insertEventsSQL(n int) string {
	row := "(?" + strings.Repeat(", ?", columnsPerRow-1) + ")"
	// OR IGNORE rather than ON CONFLICT (hash) DO NOTHING: with no
	// constraint able to abort the statement, SQLite needs no statement
	// journal for a multi-row INSERT (that journal cost a tenth of the
	// insert time). The only other constraints are NOT NULL on columns
	// always bound, so nothing but a known hash is ever ignored.
	return "INSERT OR IGNORE INTO events (" + insertColumns + ") VALUES " + row +
		strings.Repeat(", "+row, n-1)
}

const insertDedupSQL = `INSERT INTO dedup_keys (key, expires) VALUES (?, ?)
	ON CONFLICT (key) DO UPDATE SET expires = max(expires, excluded.expires)`

// InsertEvents stores the batch and its dedup keys in one transaction: one
// commit, so one fsync with synchronous=FULL.
func (s *Store) InsertEvents(ctx context.Context, events []*event.Event, dedup []store.DedupKey) (int, error) {
	return s.InsertBatch(ctx, store.EventBatch{Events: events, Dedup: dedup})
}

// InsertBatch stores the batch, its dedup keys and its identity in one
// transaction, or nothing when its identity is recorded already, and
// then adds its count (EventBatch.Count) to its feed's totals.
func (s *Store) InsertBatch(ctx context.Context, b store.EventBatch) (int, error) {
	n, err := s.insertBatch(ctx, b)
	if err != nil || b.Count == nil {
		return n, err
	}
	// The events may be in the parts' files, the feeds in the main
	// database: the count is its own commit, after the batch's.
	if err := s.AddFeedCounters(ctx, b.Count.Key, b.Count.Counters(len(b.Events), n), time.Time{}, b.Count.LastEvent, "", i18n.Message{}); err != nil {
		return n, fmt.Errorf("sqlitestore: count a batch: %w", err)
	}
	return n, nil
}

// insertBatch is InsertBatch without the batch's count.
func (s *Store) insertBatch(ctx context.Context, b store.EventBatch) (int, error) {
	events, dedup := b.Events, b.Dedup
	if len(events) == 0 && len(dedup) == 0 {
		return 0, nil
	}
	if s.parts != nil {
		n, err := s.parts.insertBatch(ctx, b)
		if err != nil {
			return 0, fmt.Errorf("sqlitestore: insert events: %w", err)
		}
		s.limitWAL(ctx)
		return n, nil
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: insert events: %w", err)
	}
	defer tx.Rollback()
	if b.ID != (event.Hash{}) {
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO event_batches (id, stored) VALUES (?, ?)`,
			b.ID[:], time.Now().UnixMicro())
		if err != nil {
			return 0, fmt.Errorf("sqlitestore: record batch: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			// Stored before: the whole batch is a replay.
			return 0, err
		}
	}
	inserted, err := insertEvents(ctx, tx, events, dedup)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: insert events: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlitestore: insert events: commit: %w", err)
	}
	s.limitWAL(ctx)
	return inserted, nil
}

// returningSQL is the INSERT of n rows reporting the rows it inserted. Only
// chunks holding an event of a constituent (extra.constituency) use it:
// their new rows must be tagged and queued, and an event already stored
// (ignored by the insert) must not be queued again. Other chunks keep the
// plain statement, so untagged events pay nothing for tagging.
func returningSQL(n int) string { return insertEventsSQL(n) + " RETURNING id, hash" }

// tag is one organisation of a newly stored event.
type tag struct {
	org        string
	timeSource int64
	eventID    int64
}

func insertEvents(ctx context.Context, tx *sql.Tx, events []*event.Event, dedup []store.DedupKey) (int, error) {
	inserted := 0
	if len(events) > 0 {
		var full, rest, fullReturning, restReturning *sql.Stmt
		defer func() {
			for _, st := range []*sql.Stmt{full, rest, fullReturning, restReturning} {
				if st != nil {
					st.Close()
				}
			}
		}()
		now := time.Now()
		stored := now.UnixMicro()
		var (
			data   []byte
			args   = make([]any, 0, columnsPerRow*rowsPerInsert)
			hashes = make([]event.Hash, min(len(events), rowsPerInsert))
			tags   []tag
		)
		for start := 0; start < len(events); start += rowsPerInsert {
			chunk := events[start:min(start+rowsPerInsert, len(events))]
			args = args[:0]
			data = data[:0]
			// The encoded events share one buffer; each row's blob is a
			// capped slice of it, valid until the statement has run.
			offsets := [rowsPerInsert + 1]int{}
			for i, e := range chunk {
				data = event.AppendRecord(data, e)
				offsets[i+1] = len(data)
			}
			// orgs and times of the chunk's events by position, for the
			// rows the insert reports back.
			var (
				orgs   [rowsPerInsert][]string
				times  [rowsPerInsert]int64
				tagged bool
			)
			for i, e := range chunk {
				c := store.ExtractColumns(e, now)
				hashes[i] = e.Hash()
				if c.Orgs != nil {
					orgs[i], times[i], tagged = c.Orgs, c.TimeSource, true
				}
				args = append(args,
					hashes[i][:], c.TimeSource, stored,
					nullText(c.Feed), nullText(c.Taxonomy), nullText(c.Type), nullText(c.TLP),
					c.SrcIP.Bytes(), c.DstIP.Bytes(), nullInt(c.SrcASN), nullInt(c.DstASN),
					nullText(c.SrcFQDN), nullText(c.DstFQDN), nullText(c.SrcURL), nullText(c.DstURL),
					nullText(c.MD5), nullText(c.SHA1), nullText(c.SHA256),
					data[offsets[i]:offsets[i+1]:offsets[i+1]])
			}
			var (
				stmt *sql.Stmt
				err  error
			)
			switch {
			case len(chunk) == rowsPerInsert && !tagged:
				if full == nil {
					full, err = tx.PrepareContext(ctx, insertEventsSQL(rowsPerInsert))
				}
				stmt = full
			case len(chunk) == rowsPerInsert:
				if fullReturning == nil {
					fullReturning, err = tx.PrepareContext(ctx, returningSQL(rowsPerInsert))
				}
				stmt = fullReturning
			case !tagged:
				rest, err = tx.PrepareContext(ctx, insertEventsSQL(len(chunk)))
				stmt = rest
			default:
				restReturning, err = tx.PrepareContext(ctx, returningSQL(len(chunk)))
				stmt = restReturning
			}
			if err != nil {
				return 0, err
			}
			if !tagged {
				res, err := stmt.ExecContext(ctx, args...)
				if err != nil {
					return 0, err
				}
				n, err := res.RowsAffected()
				if err != nil {
					return 0, err
				}
				inserted += int(n)
				continue
			}
			n, err := insertReturning(ctx, stmt, args, hashes[:len(chunk)], orgs[:len(chunk)], times[:len(chunk)], &tags)
			if err != nil {
				return 0, err
			}
			inserted += n
		}
		if len(tags) > 0 {
			if err := insertTags(ctx, tx, tags, stored); err != nil {
				return 0, err
			}
		}
	}
	if err := insertDedupKeys(ctx, tx, dedup); err != nil {
		return 0, err
	}
	return inserted, nil
}

// insertDedupKeys writes a batch's dedup keys in its transaction.
func insertDedupKeys(ctx context.Context, tx *sql.Tx, dedup []store.DedupKey) error {
	if len(dedup) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, insertDedupSQL)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range dedup {
		if _, err := stmt.ExecContext(ctx, dedup[i].Key[:], dedup[i].Expires.UnixMicro()); err != nil {
			return err
		}
	}
	return nil
}

// insertReturning runs a returningSQL statement and appends a tag for every
// organisation of every row it inserted. A hash repeated within the chunk
// is stored as its first occurrence (the others are ignored), so the
// first occurrence's organisations are the ones that count.
func insertReturning(ctx context.Context, stmt *sql.Stmt, args []any, hashes []event.Hash, orgs [][]string, times []int64, tags *[]tag) (int, error) {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	var (
		id   int64
		hash []byte
	)
	for rows.Next() {
		if err := rows.Scan(&id, &hash); err != nil {
			return 0, err
		}
		n++
		for i := range hashes {
			if string(hashes[i][:]) == string(hash) {
				for _, org := range orgs[i] {
					*tags = append(*tags, tag{org: org, timeSource: times[i], eventID: id})
				}
				break
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return n, rows.Close()
}

// tagsPerInsert is how many tags one INSERT carries (3 parameters each).
const tagsPerInsert = 200

// insertTags indexes new events by organisation (event_orgs) and queues
// them for notification (notify_queue), several rows a statement. The
// queue is filled in the order the events were stored.
func insertTags(ctx context.Context, tx *sql.Tx, tags []tag, stored int64) error {
	slices.SortFunc(tags, func(a, b tag) int {
		if c := cmp.Compare(a.eventID, b.eventID); c != 0 {
			return c
		}
		return strings.Compare(a.org, b.org)
	})
	args := make([]any, 0, 3*tagsPerInsert)
	for start := 0; start < len(tags); start += tagsPerInsert {
		chunk := tags[start:min(start+tagsPerInsert, len(tags))]
		rows := "(?, ?, ?)" + strings.Repeat(", (?, ?, ?)", len(chunk)-1)
		args = args[:0]
		for _, t := range chunk {
			args = append(args, t.org, t.timeSource, t.eventID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO event_orgs (org, time_source, event_id) VALUES `+rows, args...); err != nil {
			return fmt.Errorf("tag events: %w", err)
		}
		args = args[:0]
		for _, t := range chunk {
			args = append(args, t.org, t.eventID, stored)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO notify_queue (org, event_id, stored) VALUES `+rows, args...); err != nil {
			return fmt.Errorf("queue notifications: %w", err)
		}
	}
	return nil
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// GetEvent returns the event stored under hash.
func (s *Store) GetEvent(ctx context.Context, hash event.Hash) (store.StoredEvent, error) {
	if s.parts != nil {
		se, err := s.parts.getEvent(ctx, hash, "")
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return se, fmt.Errorf("sqlitestore: get event %s: %w", hash, err)
		}
		return se, err
	}
	var (
		stored int64
		data   []byte
	)
	err := s.read.QueryRowContext(ctx, `SELECT stored, data FROM events WHERE hash = ?`, hash[:]).Scan(&stored, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return store.StoredEvent{}, store.ErrNotFound
	}
	if err != nil {
		return store.StoredEvent{}, fmt.Errorf("sqlitestore: get event: %w", err)
	}
	e, err := decodeEvent(data)
	if err != nil {
		return store.StoredEvent{}, fmt.Errorf("sqlitestore: get event %s: %w", hash, err)
	}
	return store.StoredEvent{Hash: hash, Stored: time.UnixMicro(stored).UTC(), Event: e}, nil
}

func decodeEvent(data []byte) (*event.Event, error) { return event.DecodeRecord(data) }

// GetOrganisationEvent returns the event stored under hash when the index
// of events by organisation (event_orgs, what SearchEvents reads) lists it
// under org; ErrNotFound otherwise, missing or not the organisation's alike.
func (s *Store) GetOrganisationEvent(ctx context.Context, org string, hash event.Hash) (store.StoredEvent, error) {
	if s.parts != nil {
		if org == "" {
			return store.StoredEvent{}, store.ErrNotFound
		}
		se, err := s.parts.getEvent(ctx, hash, org)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return se, fmt.Errorf("sqlitestore: get event %s of %s: %w", hash, org, err)
		}
		return se, err
	}
	var (
		stored int64
		data   []byte
	)
	err := s.read.QueryRowContext(ctx, `SELECT stored, data FROM events WHERE hash = ? AND `+orgProbe,
		hash[:], org).Scan(&stored, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return store.StoredEvent{}, store.ErrNotFound
	}
	if err != nil {
		return store.StoredEvent{}, fmt.Errorf("sqlitestore: get event of %s: %w", org, err)
	}
	e, err := decodeEvent(data)
	if err != nil {
		return store.StoredEvent{}, fmt.Errorf("sqlitestore: get event %s of %s: %w", hash, org, err)
	}
	return store.StoredEvent{Hash: hash, Stored: time.UnixMicro(stored).UTC(), Event: e}, nil
}

// CountEvents returns how many events are stored.
func (s *Store) CountEvents(ctx context.Context) (int64, error) {
	if s.parts != nil {
		n, err := s.parts.count(ctx)
		if err != nil {
			return 0, fmt.Errorf("sqlitestore: count events: %w", err)
		}
		return n, nil
	}
	var n int64
	// max(id) would be O(1) but counts deleted rows; count(*) walks the
	// smallest index, which is fine for an occasional dashboard figure.
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlitestore: count events: %w", err)
	}
	return n, nil
}

// side is one indicator condition on one side (source or destination) of
// an event, written for an index that leads with that column.
type side struct {
	cond string
	args []any
	// ranged marks a range over the index (CIDR, domain), whose matches do
	// not come out in time order.
	ranged bool
}

// indicatorSides returns the conditions of the first indicator filter set in
// q (in order of usual selectivity), and removes it from q so that the
// other filters are applied as plain conditions. ok is false when q has no
// indicator; an empty sides list means the query cannot match.
func indicatorSides(q *store.EventQuery) (sides []side, ok bool) {
	switch {
	case q.IP.IsValid():
		k := store.MakeIPKey(q.IP)
		b := append([]byte(nil), k.Bytes()...)
		q.IP = netip.Addr{}
		return []side{{"src_ip = ?", []any{b}, false}, {"dst_ip = ?", []any{b}, false}}, true
	case q.Prefix.IsValid():
		first, last := store.PrefixRange(q.Prefix)
		q.Prefix = netip.Prefix{}
		return []side{
			{"src_ip BETWEEN ? AND ?", []any{first[:], last[:]}, true},
			{"dst_ip BETWEEN ? AND ?", []any{first[:], last[:]}, true},
		}, true
	case q.ASN != 0:
		a := int64(q.ASN)
		q.ASN = 0
		return []side{{"src_asn = ?", []any{a}, false}, {"dst_asn = ?", []any{a}, false}}, true
	case q.FQDN != "":
		from, to := store.FQDNRange(q.FQDN)
		q.FQDN = ""
		if from == "" {
			return nil, true
		}
		return []side{
			{"src_fqdn >= ? AND src_fqdn < ?", []any{from, to}, true},
			{"dst_fqdn >= ? AND dst_fqdn < ?", []any{from, to}, true},
		}, true
	case q.URL != "":
		u := q.URL
		q.URL = ""
		return []side{{"src_url = ?", []any{u}, false}, {"dst_url = ?", []any{u}, false}}, true
	case q.Hash != "":
		h := strings.ToLower(strings.TrimSpace(q.Hash))
		q.Hash = ""
		col := store.HashColumn(h)
		if col == "" {
			return nil, true
		}
		return []side{{col + " = ?", []any{h}, false}}, true
	}
	return nil, false
}

// orgProbe is the Organisation filter as a condition on a row of events:
// one primary-key lookup in event_orgs per candidate row.
const orgProbe = `EXISTS (SELECT 1 FROM event_orgs AS o WHERE o.org = ? AND o.time_source = events.time_source AND o.event_id = events.id)`

// conditions returns the WHERE terms for every filter left in q, the
// cursor included. timeCol and idCol name the columns the time range and
// the cursor apply to: events' own, or event_orgs' when an organisation's
// index drives the search (so that they bound its index range).
func conditions(q store.EventQuery, after *store.Cursor, asc bool, timeCol, idCol string) (where []string, args []any) {
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	// Indicators beyond the driving one: either side may match.
	for {
		sides, ok := indicatorSides(&q)
		if !ok {
			break
		}
		if len(sides) == 0 {
			add("0")
			continue
		}
		parts := make([]string, len(sides))
		for i, sd := range sides {
			parts[i] = "(" + sd.cond + ")"
			args = append(args, sd.args...)
		}
		where = append(where, "("+strings.Join(parts, " OR ")+")")
	}
	if q.Taxonomy != "" {
		add("taxonomy = ?", q.Taxonomy)
	}
	if q.Type != "" {
		add("type = ?", q.Type)
	}
	if q.Feed != "" {
		add("feed = ?", q.Feed)
	}
	if q.TLP != "" {
		add("tlp = ?", strings.ToUpper(q.TLP))
	}
	if q.Organisation != "" {
		add(orgProbe, q.Organisation)
	}
	if !q.From.IsZero() {
		add(timeCol+" >= ?", q.From.UnixMicro())
	}
	if !q.To.IsZero() {
		add(timeCol+" < ?", q.To.UnixMicro())
	}
	if after != nil {
		// The first term is the index range; the second breaks ties on
		// equal times by row id.
		if asc {
			add(timeCol+" >= ? AND ("+timeCol+" > ? OR "+idCol+" > ?)", after.TimeSource, after.TimeSource, after.ID)
		} else {
			add(timeCol+" <= ? AND ("+timeCol+" < ? OR "+idCol+" < ?)", after.TimeSource, after.TimeSource, after.ID)
		}
	}
	return where, args
}

// SearchEvents returns one page of matching events, newest time.source
// first, with keyset paging on (time_source, id).
//
// Query shape. Without an indicator (IP, prefix, ASN, domain, URL, hash),
// the planner walks events_time backwards and filters, stopping after one
// page. With one, each side (source, destination) is its own subquery on
// its (column, time_source) index, limited to one page, and the two are
// merged by UNION (which also drops an event matching on both sides):
//
//   - an equality (IP, ASN, URL, hash) reads the index already in time
//     order, so the first page costs one page of index entries however
//     many events match;
//   - a range (CIDR, domain) cannot come out in time order, but the
//     index holds time_source, so SQLite keeps the newest page in a
//     bounded sorter while scanning only index entries — no table reads
//     until the final page is fetched by rowid.
//
// A single OR over both columns would let SQLite use a MULTI-INDEX OR, but
// that collects every matching rowid and reads each row to sort it, which
// costs a table lookup per match instead of per result.
func (s *Store) SearchEvents(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	if !store.ValidSort(q.Sort) {
		return store.EventPage{}, fmt.Errorf("sqlitestore: search events: %w", store.ErrBadColumn)
	}
	if s.parts != nil {
		page, err := s.parts.search(ctx, q)
		if err != nil {
			return store.EventPage{}, fmt.Errorf("sqlitestore: search events: %w", err)
		}
		return page, nil
	}
	if q.Sort.Windowed() {
		page, err := s.searchWindow(ctx, q)
		if err != nil {
			return store.EventPage{}, fmt.Errorf("sqlitestore: search events by %s: %w", q.Sort, err)
		}
		return page, nil
	}
	limit := store.PageLimit(q.Limit)
	scan, err := s.preferTimeScan(ctx, q)
	if err != nil {
		return store.EventPage{}, fmt.Errorf("sqlitestore: search events: %w", err)
	}
	text, args, err := searchSQL(q, scan)
	if err != nil {
		return store.EventPage{}, fmt.Errorf("sqlitestore: search events: %w", err)
	}
	if text == "" {
		return store.EventPage{}, nil
	}
	rows, err := s.read.QueryContext(ctx, text, args...)
	if err != nil {
		return store.EventPage{}, fmt.Errorf("sqlitestore: search events: %w", err)
	}
	defer rows.Close()
	var (
		page store.EventPage
		last store.Cursor
	)
	for rows.Next() {
		if len(page.Events) == limit {
			page.Next = last.String()
			break
		}
		var (
			id, stored, ts int64
			hash, data     []byte
		)
		if err := rows.Scan(&id, &hash, &stored, &ts, &data); err != nil {
			return store.EventPage{}, fmt.Errorf("sqlitestore: search events: %w", err)
		}
		e, err := decodeEvent(data)
		if err != nil {
			return store.EventPage{}, fmt.Errorf("sqlitestore: search events: event %d: %w", id, err)
		}
		se := store.StoredEvent{Stored: time.UnixMicro(stored).UTC(), Event: e}
		copy(se.Hash[:], hash)
		page.Events = append(page.Events, se)
		last = store.Cursor{TimeSource: ts, ID: id}
	}
	if err := rows.Err(); err != nil {
		return store.EventPage{}, fmt.Errorf("sqlitestore: search events: %w", err)
	}
	return page, nil
}

// searchSQL writes the query for q; "" when nothing can match. timeScan
// walks the time index and filters instead of starting from the
// indicator's index (see preferTimeScan).
//
// An Organisation filter either drives the search from the organisation's
// range of event_orgs, which comes out newest first (without an indicator,
// or where a time scan was chosen: the organisation's events are never
// more than all events), or is probed by primary key for each candidate of
// an indicator's index.
func searchSQL(q store.EventQuery, timeScan bool) (string, []any, error) {
	var after *store.Cursor
	if q.After != "" {
		c, err := store.ParseCursor(q.After)
		if err != nil {
			return "", nil, err
		}
		after = &c
	}
	text, args := matchSQL(q, after, timeScan, shape{limit: store.PageLimit(q.Limit) + 1, asc: q.Ascending})
	return text, args, nil
}

// shape is what a statement of matchSQL returns: at most limit rows, in
// time order (oldest first when asc), either whole events (id, hash,
// stored, time_source, data) or, with ids, only their id and time_source,
// for counts, groupings and windows to build on.
type shape struct {
	ids   bool
	limit int
	asc   bool
}

// matchSQL writes the statement of the events q matches after the keyset
// cursor after, in the shape sh; "" when nothing can match.
func matchSQL(q store.EventQuery, after *store.Cursor, timeScan bool, sh shape) (string, []any) {
	limit := sh.limit
	dir := " DESC"
	if sh.asc {
		dir = " ASC"
	}
	cols := "id, hash, stored, time_source, data"
	joined := "e.id, e.hash, e.stored, e.time_source, e.data"
	if sh.ids {
		cols, joined = "id, time_source", "e.id, e.time_source"
	}
	sides, driven := indicatorSides(&q)
	if driven && len(sides) == 0 {
		return "", nil
	}
	org := q.Organisation
	byOrg := org != "" && (!driven || timeScan)
	timeCol, idCol := "time_source", "id"
	if byOrg {
		q.Organisation = ""
		timeCol, idCol = "o.time_source", "o.event_id"
	}
	where, args := conditions(q, after, sh.asc, timeCol, idCol)

	var sqlText strings.Builder
	var all []any
	if driven && timeScan {
		parts := make([]string, len(sides))
		for i, sd := range sides {
			parts[i] = "(" + sd.cond + ")"
			all = append(all, sd.args...)
		}
		where = append([]string{"(" + strings.Join(parts, " OR ") + ")"}, where...)
		all = append(all, args...)
		args = all
		all = nil
		driven = false
		if !byOrg {
			// INDEXED BY: without statistics the planner would start
			// from the indicator's index, which is what we decided
			// against.
			sqlText.WriteString(`SELECT ` + cols + ` FROM events INDEXED BY events_time`)
		}
	} else if !driven && !byOrg {
		sqlText.WriteString(`SELECT ` + cols + ` FROM events`)
	}
	switch {
	case byOrg:
		// CROSS JOIN fixes the loop order: event_orgs outside, in index
		// order, each row's event fetched by rowid.
		sqlText.WriteString(`SELECT ` + joined + `
			FROM event_orgs AS o CROSS JOIN events AS e
			WHERE o.org = ? AND e.id = o.event_id`)
		for _, w := range where {
			sqlText.WriteString(" AND " + w)
		}
		sqlText.WriteString(` ORDER BY o.time_source` + dir + `, o.event_id` + dir + ` LIMIT ?`)
		all = append(append([]any{org}, args...), limit)
	case !driven:
		if len(where) > 0 {
			sqlText.WriteString(" WHERE " + strings.Join(where, " AND "))
		}
		sqlText.WriteString(` ORDER BY time_source` + dir + `, id` + dir + ` LIMIT ?`)
		all = append(args, limit)
	default:
		if !sh.ids {
			sqlText.WriteString(`SELECT ` + joined + ` FROM (`)
		}
		for i, sd := range sides {
			if i > 0 {
				sqlText.WriteString(" UNION ")
			}
			conds := append([]string{sd.cond}, where...)
			sqlText.WriteString(`SELECT id, time_source FROM (SELECT id, time_source FROM events WHERE `)
			sqlText.WriteString(strings.Join(conds, " AND "))
			sqlText.WriteString(` ORDER BY time_source` + dir + `, id` + dir + ` LIMIT ?)`)
			all = append(all, sd.args...)
			all = append(all, args...)
			all = append(all, limit)
		}
		sqlText.WriteString(` ORDER BY time_source` + dir + `, id` + dir + ` LIMIT ?`)
		if !sh.ids {
			sqlText.WriteString(`) AS k JOIN events AS e ON e.id = k.id
			ORDER BY k.time_source` + dir + `, k.id` + dir)
		}
		all = append(all, limit)
	}
	return sqlText.String(), all
}

// Limits of matches in an indicator's index range beyond which a search
// walks the time index instead (see preferTimeScan). Measured on this
// schema: sorting covering-index entries costs about 0.3 µs each, a table
// lookup for a filter not in the index about 5 µs. Variables so that tests
// can force either plan.
var (
	rangeCapCovered = 50_000
	rangeCapLookups = 5_000
)

// preferTimeScan decides how to run a search by a range (CIDR, domain).
//
// Starting from the range's index costs one step per match: cheap for a
// /24, but a /8 over ten million events matches millions, all of which
// would be sorted to find the newest fifty, and every other filter (feed,
// taxonomy…) adds a table lookup per match. Walking the time index from
// the newest and testing each event costs about limit × events ÷ matches
// steps instead: cheap exactly when matches are many. So count the range's
// index entries up to a cap (a covering scan, bounded cost) and walk the
// time index when the cap is reached. The cap is lower when other filters
// need table lookups.
func (s *Store) preferTimeScan(ctx context.Context, q store.EventQuery) (bool, error) {
	sides, ok := indicatorSides(&q)
	if !ok || len(sides) == 0 || !sides[0].ranged {
		return false, nil
	}
	limit := rangeCapCovered
	if _, more := indicatorSides(&q); more || q.Taxonomy != "" || q.Type != "" || q.Feed != "" || q.TLP != "" {
		limit = rangeCapLookups
	}
	total := 0
	for _, sd := range sides {
		var n int
		err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM events WHERE `+sd.cond+` LIMIT ?)`,
			append(sd.args, limit-total)...).Scan(&n)
		if err != nil {
			return false, err
		}
		if total += n; total >= limit {
			return true, nil
		}
	}
	return false, nil
}
