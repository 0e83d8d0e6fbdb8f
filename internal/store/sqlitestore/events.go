package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
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
	if len(events) == 0 && len(dedup) == 0 {
		return 0, nil
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: insert events: %w", err)
	}
	defer tx.Rollback()
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

func insertEvents(ctx context.Context, tx *sql.Tx, events []*event.Event, dedup []store.DedupKey) (int, error) {
	inserted := 0
	if len(events) > 0 {
		var full, rest *sql.Stmt
		defer func() {
			for _, st := range []*sql.Stmt{full, rest} {
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
			for i, e := range chunk {
				c := store.ExtractColumns(e, now)
				hashes[i] = e.Hash()
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
			if len(chunk) == rowsPerInsert {
				if full == nil {
					full, err = tx.PrepareContext(ctx, insertEventsSQL(rowsPerInsert))
				}
				stmt = full
			} else {
				rest, err = tx.PrepareContext(ctx, insertEventsSQL(len(chunk)))
				stmt = rest
			}
			if err != nil {
				return 0, err
			}
			res, err := stmt.ExecContext(ctx, args...)
			if err != nil {
				return 0, err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return 0, err
			}
			inserted += int(n)
		}
	}
	if len(dedup) > 0 {
		stmt, err := tx.PrepareContext(ctx, insertDedupSQL)
		if err != nil {
			return 0, err
		}
		defer stmt.Close()
		for i := range dedup {
			if _, err := stmt.ExecContext(ctx, dedup[i].Key[:], dedup[i].Expires.UnixMicro()); err != nil {
				return 0, err
			}
		}
	}
	return inserted, nil
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// GetEvent returns the event stored under hash.
func (s *Store) GetEvent(ctx context.Context, hash event.Hash) (store.StoredEvent, error) {
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

// CountEvents returns how many events are stored.
func (s *Store) CountEvents(ctx context.Context) (int64, error) {
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

// conditions returns the WHERE terms for every filter left in q, the
// cursor included.
func conditions(q store.EventQuery, after *store.Cursor) (where []string, args []any) {
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
	if !q.From.IsZero() {
		add("time_source >= ?", q.From.UnixMicro())
	}
	if !q.To.IsZero() {
		add("time_source < ?", q.To.UnixMicro())
	}
	if after != nil {
		// The first term is the index range; the second breaks ties on
		// equal times by row id.
		add("time_source <= ? AND (time_source < ? OR id < ?)", after.TimeSource, after.TimeSource, after.ID)
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
func searchSQL(q store.EventQuery, timeScan bool) (string, []any, error) {
	limit := store.PageLimit(q.Limit)
	var after *store.Cursor
	if q.After != "" {
		c, err := store.ParseCursor(q.After)
		if err != nil {
			return "", nil, err
		}
		after = &c
	}
	sides, driven := indicatorSides(&q)
	if driven && len(sides) == 0 {
		return "", nil, nil
	}
	where, args := conditions(q, after)

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
		// INDEXED BY: without statistics the planner would start from
		// the indicator's index, which is what we decided against.
		sqlText.WriteString(`SELECT id, hash, stored, time_source, data FROM events INDEXED BY events_time`)
	} else if !driven {
		sqlText.WriteString(`SELECT id, hash, stored, time_source, data FROM events`)
	}
	if !driven {
		if len(where) > 0 {
			sqlText.WriteString(" WHERE " + strings.Join(where, " AND "))
		}
		sqlText.WriteString(` ORDER BY time_source DESC, id DESC LIMIT ?`)
		all = append(args, limit+1)
	} else {
		sqlText.WriteString(`SELECT e.id, e.hash, e.stored, e.time_source, e.data FROM (`)
		for i, sd := range sides {
			if i > 0 {
				sqlText.WriteString(" UNION ")
			}
			conds := append([]string{sd.cond}, where...)
			sqlText.WriteString(`SELECT id, time_source FROM (SELECT id, time_source FROM events WHERE `)
			sqlText.WriteString(strings.Join(conds, " AND "))
			sqlText.WriteString(` ORDER BY time_source DESC, id DESC LIMIT ?)`)
			all = append(all, sd.args...)
			all = append(all, args...)
			all = append(all, limit+1)
		}
		sqlText.WriteString(` ORDER BY time_source DESC, id DESC LIMIT ?) AS k JOIN events AS e ON e.id = k.id
			ORDER BY k.time_source DESC, k.id DESC`)
		all = append(all, limit+1)
	}

	return sqlText.String(), all, nil
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
