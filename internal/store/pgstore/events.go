package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/feedsql"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// batchColumns holds a batch as column arrays.
type batchColumns struct {
	// events are the batch's events, whose records pack writes into
	// blocks.
	events                   []*event.Event
	hash                     [][]byte
	timeSource               []time.Time
	feed, taxonomy, typ, tlp []pgtype.Text
	srcIP, dstIP             []*netip.Addr
	srcASN, dstASN           []pgtype.Int8
	srcFQDN, dstFQDN         []pgtype.Text
	srcURL, dstURL           []pgtype.Text
	md5, sha1, sha256        []pgtype.Text
	addrs                    []netip.Addr
	// tagHash and tagOrg pair the first occurrence of every tagged event
	// (the one the insert keeps) with each of its organisations.
	tagHash [][]byte
	tagOrg  []string
	// tagEvent is the index in the batch of tagHash's event.
	tagEvent []int
	// starts and blocks are the events' records in blocks (packBatch):
	// block k holds the records from starts[k] on; nil when the batch
	// repeats a hash (copyEvents packs it without the repeats then).
	starts []int
	blocks [][]byte
	// packed holds the buffers blocks are in, columns the arrays the
	// columns are in, copy the COPY rows (encodeCopy; see release).
	packed  packedBlocks
	columns *columnArrays
	copy    *encodedCopy
}

func nullText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

func nullInt8(n int64) pgtype.Int8 { return pgtype.Int8{Int64: n, Valid: n != 0} }

func (b *batchColumns) fill(events []*event.Event, now time.Time) {
	// The columns are slices of arrays kept from one batch to the next
	// (columnPool): made for each batch, they were most of the client's
	// allocations on a batch, and pointers for the collector to mark.
	b.fillInto(columnPool.Get().(*columnArrays), events, now)
}

// fillInto is fill with the arrays a, which hold the columns of an
// earlier batch or none.
func (b *batchColumns) fillInto(a *columnArrays, events []*event.Event, now time.Time) {
	n := len(events)
	a.size(n)
	*b = batchColumns{
		events: events,
		hash:   a.hash[:n:n], timeSource: a.timeSource[:n:n],
		feed: a.text[0:n:n], taxonomy: a.text[n : 2*n : 2*n], typ: a.text[2*n : 3*n : 3*n], tlp: a.text[3*n : 4*n : 4*n],
		srcIP: a.addrPtrs[:n:n], dstIP: a.addrPtrs[n : 2*n : 2*n],
		srcASN: a.ints[:n:n], dstASN: a.ints[n : 2*n : 2*n],
		srcFQDN: a.text[4*n : 5*n : 5*n], dstFQDN: a.text[5*n : 6*n : 6*n],
		srcURL: a.text[6*n : 7*n : 7*n], dstURL: a.text[7*n : 8*n : 8*n],
		md5: a.text[8*n : 9*n : 9*n], sha1: a.text[9*n : 10*n : 10*n], sha256: a.text[10*n : 11*n : 11*n],
		addrs:   a.addrs[: 2*n : 2*n],
		columns: a,
	}
	// The events' records are written by pack, into their blocks.
	hashes := make([]event.Hash, n)
	var first map[event.Hash]bool
	for i, e := range events {
		c := store.ExtractColumns(e, now)
		hashes[i] = e.Hash()
		b.hash[i] = hashes[i][:]
		if c.Orgs != nil || first != nil {
			// From the first tagged event on, remember which hashes came
			// already: a repeat is not inserted, so its tags must not be
			// either.
			if first == nil {
				first = make(map[event.Hash]bool, len(events)-i)
				for _, h := range hashes[:i] {
					first[h] = true
				}
			}
			if !first[hashes[i]] {
				first[hashes[i]] = true
				for _, org := range c.Orgs {
					b.tagHash = append(b.tagHash, b.hash[i])
					b.tagOrg = append(b.tagOrg, org)
					b.tagEvent = append(b.tagEvent, i)
				}
			}
		}
		b.timeSource[i] = time.UnixMicro(c.TimeSource)
		b.feed[i], b.taxonomy[i], b.typ[i], b.tlp[i] = nullText(c.Feed), nullText(c.Taxonomy), nullText(c.Type), nullText(c.TLP)
		// The addresses ExtractColumns parsed, not parsed again. (The
		// arrays hold the last batch's until written.)
		b.srcIP[i], b.dstIP[i] = nil, nil
		if c.SrcIP.Valid() {
			b.addrs[2*i] = c.SrcIP.Addr()
			b.srcIP[i] = &b.addrs[2*i]
		}
		if c.DstIP.Valid() {
			b.addrs[2*i+1] = c.DstIP.Addr()
			b.dstIP[i] = &b.addrs[2*i+1]
		}
		b.srcASN[i], b.dstASN[i] = nullInt8(c.SrcASN), nullInt8(c.DstASN)
		b.srcFQDN[i], b.dstFQDN[i] = nullText(c.SrcFQDN), nullText(c.DstFQDN)
		b.srcURL[i], b.dstURL[i] = nullText(c.SrcURL), nullText(c.DstURL)
		b.md5[i], b.sha1[i], b.sha256[i] = nullText(c.MD5), nullText(c.SHA1), nullText(c.SHA256)
	}
}

// release gives the batch's buffers of blocks and COPY rows back, once
// nothing reads its rows and blocks.
func (b *batchColumns) release() {
	b.packed.release()
	b.starts, b.blocks = nil, nil
	if b.copy != nil {
		b.copy.release()
		b.copy = nil
	}
	if b.columns != nil {
		columnPool.Put(b.columns)
		*b = batchColumns{}
	}
}

// columnArrays are the arrays a batch's columns are slices of (fill),
// kept in columnPool from one batch to the next.
type columnArrays struct {
	hash       [][]byte
	timeSource []time.Time
	text       []pgtype.Text // eleven columns
	addrPtrs   []*netip.Addr // two
	ints       []pgtype.Int8 // two
	addrs      []netip.Addr  // two
	// copy is the batch's COPY rows, its offsets kept too.
	copy encodedCopy
}

var columnPool = sync.Pool{New: func() any { return new(columnArrays) }}

// size makes room for the columns of n events.
func (a *columnArrays) size(n int) {
	if cap(a.hash) >= n {
		return
	}
	*a = columnArrays{
		hash: make([][]byte, n), timeSource: make([]time.Time, n),
		text: make([]pgtype.Text, 11*n), addrPtrs: make([]*netip.Addr, 2*n),
		ints: make([]pgtype.Int8, 2*n), addrs: make([]netip.Addr, 2*n),
	}
}

// InsertEvents stores the batch and its dedup keys in one transaction.
func (s *Store) InsertEvents(ctx context.Context, events []*event.Event, dedup []store.DedupKey) (int, error) {
	return s.InsertBatch(ctx, store.EventBatch{Events: events, Dedup: dedup})
}

// InsertBatch stores the batch, its dedup keys, its identity and its
// count in one transaction, or only its count when its identity is
// recorded already. The identity's row is written first: a concurrent
// insert of the same batch waits on it and then finds it.
func (s *Store) InsertBatch(ctx context.Context, b store.EventBatch) (int, error) {
	events, dedup := b.Events, b.Dedup
	if len(events) == 0 && len(dedup) == 0 {
		if b.Count != nil {
			if err := addBatchCount(ctx, s.DB(), b.Count, 0, 0); err != nil {
				return 0, err
			}
		}
		return 0, nil
	}
	// The batch is encoded and compressed before its transaction begins.
	now := time.Now()
	var cols batchColumns
	if len(events) > 0 {
		cols.fill(events, now)
		defer cols.release()
		cols.packBatch(now)
	}
	for try := 0; ; try++ {
		if len(events) > 0 {
			if err := s.hot(ctx, observationDay(events[0], now)); err != nil {
				return 0, fmt.Errorf("pgstore: insert events: %w", err)
			}
		}
		n, err := s.storeBatch(ctx, b, &cols, now)
		if err != nil && len(events) > 0 {
			// The batch reads the partitions and the sequence again: an id
			// no partition takes (a sequence moved by hand) is repaired by
			// it, and any other failure costs one read. A batch that found
			// no partition for its ids tries once more, after that read.
			s.forgetHot()
			if try == 0 && noPartition(err) {
				s.log.Warn("no event partition took a batch's ids; the partitions read again",
					"store", "postgres", "err", err)
				continue
			}
		}
		return n, err
	}
}

// noPartition reports whether err is the server's refusal of a row whose
// id no partition of events takes (the server's message is in its
// locale: the code of a check violation without a constraint tells it),
// or the hot set's read of a partition that does not exist (hotTable).
func noPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeCheck && pe.ConstraintName == "" || pe.Code == codeUndefinedTable)
}

// storeBatch is InsertBatch's transaction, once the hot partition may
// take the batch (hot).
func (s *Store) storeBatch(ctx context.Context, b store.EventBatch, cols *batchColumns, now time.Time) (int, error) {
	events, dedup := b.Events, b.Dedup
	// The connection is held apart from its transaction: hotLock is the
	// session's (copyEvents), and a transaction that fails holding it
	// gives it back after its rollback, before the connection goes back
	// to the pool (unlockAfterFailure).
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgstore: insert events: %w", err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgstore: insert events: %w", err)
	}
	var hold hotHold
	defer func() {
		tx.Rollback(ctx)
		hold.unlockAfterFailure(ctx, conn)
	}()
	if b.ID != (event.Hash{}) {
		tag, err := tx.Exec(ctx, `INSERT INTO event_batches (id, stored) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
			b.ID[:], now)
		if err != nil {
			return 0, fmt.Errorf("pgstore: record batch: %w", err)
		}
		if tag.RowsAffected() == 0 {
			// Stored before: the whole batch is a replay, its events
			// duplicates.
			if b.Count == nil {
				return 0, nil
			}
			if err := addBatchCount(ctx, pgDB{pool: s.pool, tx: tx}, b.Count, len(events), 0); err != nil {
				return 0, err
			}
			if err := tx.Commit(ctx); err != nil {
				return 0, fmt.Errorf("pgstore: count a batch stored before: commit: %w", err)
			}
			return 0, nil
		}
	}
	var (
		sub    batchColumns // the batch without the events stored before
		ids    []int64
		copied *batchColumns // cols or sub, whose rows are copied
	)
	defer sub.release()
	if len(events) > 0 {
		ids, copied, err = s.copyEvents(ctx, tx, &hold, events, cols, &sub, now)
		if err != nil {
			return 0, fmt.Errorf("pgstore: insert events: %w", err)
		}
	}
	if len(dedup) > 0 {
		if err := storeDedupKeys(ctx, tx, dedup); err != nil {
			return 0, fmt.Errorf("pgstore: insert dedup keys: %w", err)
		}
	}
	// hotLock is given back before the blocks are copied and the commit,
	// so that the next batch copies its rows while this one's blocks are
	// copied, and its WAL written and flushed (hotHold.release).
	if err := hold.release(ctx, tx); err != nil {
		return 0, fmt.Errorf("pgstore: insert events: %w", err)
	}
	if len(ids) > 0 {
		if err := copyBlocksAndTags(ctx, tx, copied, ids, now); err != nil {
			return 0, fmt.Errorf("pgstore: insert events: %w", err)
		}
	}
	// The count last: its feed's row stays locked to the commit, and the
	// next batch of the feed waits for it there, with nothing else left
	// to do (a count of its own transaction cost a second commit, and
	// its WAL flush, a batch).
	if b.Count != nil {
		if err := addBatchCount(ctx, pgDB{pool: s.pool, tx: tx}, b.Count, len(events), len(ids)); err != nil {
			return 0, err
		}
	}
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("pgstore: insert events: commit: %w", err)
	}
	if len(ids) > 0 {
		s.stored(ids[len(ids)-1])
	}
	return len(ids), nil
}

// addBatchCount adds to its feed's totals the count c of a batch of events
// events, inserted of them new.
func addBatchCount(ctx context.Context, db sqlkit.DB, c *store.BatchCount, events, inserted int) error {
	if err := feedsql.AddCounters(ctx, db, c.Key, c.Counters(events, inserted), time.Time{}, c.LastEvent, "", i18n.Message{}); err != nil {
		return fmt.Errorf("pgstore: count a batch: %w", err)
	}
	return nil
}

// upsertDedupSQL stores dedup keys, each once, keeping the later expiry of
// a key stored already.
const upsertDedupSQL = `INSERT INTO dedup_keys (key, expires)
	SELECT * FROM unnest($1::bytea[], $2::timestamptz[])
	ON CONFLICT (key) DO UPDATE SET expires = greatest(dedup_keys.expires, excluded.expires)`

// storeDedupKeys stores a batch's dedup keys in tx: a key claimed twice
// in the batch once, with its later expiry, and a key stored already
// keeps the later of its two. The keys are new but for a key claimed
// again after its expiry and before the prune, so they are copied first
// (COPY, inside a savepoint): an upsert (ON CONFLICT) looks each key up
// in the key's random B-tree before it inserts it, and sends them as
// arrays; a key stored already refuses the COPY, and the upsert stores
// the batch's keys then. In the order of the keys either way, as Prune
// locks them: two statements locking rows in one order cannot deadlock.
func storeDedupKeys(ctx context.Context, tx pgx.Tx, dedup []store.DedupKey) error {
	// ON CONFLICT DO UPDATE may not touch one row twice in a statement,
	// nor COPY store a key twice, so a key claimed twice is merged first.
	latest := make(map[event.Hash]time.Time, len(dedup))
	for _, d := range dedup {
		if t, ok := latest[d.Key]; !ok || d.Expires.After(t) {
			latest[d.Key] = d.Expires
		}
	}
	sorted := make([]event.Hash, 0, len(latest))
	for k := range latest {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, func(a, b event.Hash) int { return bytes.Compare(a[:], b[:]) })
	// The keys' only constraint is their primary key: a unique violation
	// is a key stored already, any other error a failure.
	copied, err := copyInSavepoint(ctx, tx, "copy_dedup", isUnique,
		copyIn{"keys", `COPY dedup_keys (key, expires) FROM STDIN BINARY`, func(rows []byte) []byte {
			rows = appendCopyHeader(rows)
			for _, k := range sorted {
				rows = binary.BigEndian.AppendUint16(rows, 2)
				rows = appendBytes(rows, k[:])
				rows = appendInt8(rows, pgMicros(latest[k]))
			}
			return binary.BigEndian.AppendUint16(rows, 0xffff)
		}})
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if copied {
		return nil
	}
	keys := make([][]byte, len(sorted))
	expires := make([]time.Time, len(sorted))
	for i := range sorted {
		keys[i] = sorted[i][:]
		expires[i] = latest[sorted[i]]
	}
	if _, err := tx.Exec(ctx, upsertDedupSQL, keys, expires); err != nil {
		return fmt.Errorf("upsert: %w", err)
	}
	return nil
}

// GetEvent returns the event stored under hash.
func (s *Store) GetEvent(ctx context.Context, hash event.Hash) (store.StoredEvent, error) {
	se, err := s.eventByHash(ctx, hash, "")
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return se, fmt.Errorf("pgstore: get event %s: %w", hash, err)
	}
	return se, err
}

// GetOrganisationEvent returns the event stored under hash when the index
// of events by organisation (event_orgs, what SearchEvents reads) lists it
// under org; ErrNotFound otherwise, missing or not the organisation's alike.
func (s *Store) GetOrganisationEvent(ctx context.Context, org string, hash event.Hash) (store.StoredEvent, error) {
	se, err := s.eventByHash(ctx, hash, ` AND EXISTS (SELECT 1 FROM event_orgs AS o WHERE o.org = $3
		AND o.time_source = e.time_source AND o.event_id = e.id)`, org)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return se, fmt.Errorf("pgstore: get event %s of %s: %w", hash, org, err)
	}
	return se, err
}

// eventByHash returns the event stored under hash that also meets cond
// (terms on e, with parameters from $3 on, args): the hot partition, which
// has no index on hash, is read by the ids the hot set names
// (candidates), the others by their index on hash.
func (s *Store) eventByHash(ctx context.Context, hash event.Hash, cond string, args ...any) (store.StoredEvent, error) {
	part, ids, scan, err := s.candidates(ctx, [][]byte{hash[:]})
	if err != nil {
		return store.StoredEvent{}, err
	}
	below := partitionStart(part)
	if scan {
		below = math.MaxInt64 // every partition by hash
	} else if len(ids) > 0 {
		se, err := s.oneEvent(ctx, `SELECT `+storedCols("e.")+` FROM `+hotTable(part)+` AS e WHERE e.hash = $1 AND e.id = ANY($2)`+cond,
			append([]any{hash[:], ids}, args...)...)
		if !errors.Is(err, store.ErrNotFound) {
			return se, err
		}
	}
	return s.oneEvent(ctx, `SELECT `+storedCols("e.")+` FROM events AS e WHERE e.hash = $1 AND e.id < $2`+cond,
		append([]any{hash[:], below}, args...)...)
}

// oneEvent returns the event query selects (storedEvents), or ErrNotFound.
func (s *Store) oneEvent(ctx context.Context, query string, args ...any) (store.StoredEvent, error) {
	list, err := storedEvents(ctx, s.pool, query, args...)
	if err != nil {
		return store.StoredEvent{}, err
	}
	if len(list) == 0 {
		return store.StoredEvent{}, store.ErrNotFound
	}
	return list[0].shown(), nil
}

// CountEvents returns how many events are stored.
func (s *Store) CountEvents(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count events: %w", err)
	}
	return n, nil
}

// side is one side of an indicator's search: the column it reads, and
// cond, which writes its condition, adding its parameters to a. The
// condition is strict in the column (no row whose column is NULL meets
// it), so a partition without a value of it holds no match.
type side struct {
	col  string
	cond func(a *args) string
}

// indicatorSides returns the conditions of the first indicator filter set in
// q and clears it from q (the same order and meaning as sqlitestore). ok is
// false without an indicator; an empty list means nothing can match.
func indicatorSides(q *store.EventQuery) (sides []side, ok bool) {
	eq := func(col string, v any) side {
		return side{col, func(a *args) string { return col + " = " + a.add(v) }}
	}
	between := func(col string, from, to any) side {
		return side{col, func(a *args) string { return col + " BETWEEN " + a.add(from) + " AND " + a.add(to) }}
	}
	switch {
	case q.IP.IsValid():
		ip := q.IP.Unmap()
		q.IP = netip.Addr{}
		return []side{eq("src_ip", ip), eq("dst_ip", ip)}, true
	case q.Prefix.IsValid():
		first, last := store.PrefixRange(q.Prefix)
		from, to := netip.AddrFrom16(first), netip.AddrFrom16(last)
		if q.Prefix.Addr().Unmap().Is4() {
			from, to = from.Unmap(), to.Unmap()
		}
		q.Prefix = netip.Prefix{}
		return []side{between("src_ip", from, to), between("dst_ip", from, to)}, true
	case q.ASN != 0:
		asn := int64(q.ASN)
		q.ASN = 0
		return []side{eq("src_asn", asn), eq("dst_asn", asn)}, true
	case q.FQDN != "":
		from, to := store.FQDNRange(q.FQDN)
		q.FQDN = ""
		if from == "" {
			return nil, true
		}
		rng := func(col string) side {
			return side{col, func(a *args) string { return col + " >= " + a.add(from) + " AND " + col + " < " + a.add(to) }}
		}
		return []side{rng("src_fqdn"), rng("dst_fqdn")}, true
	case q.URL != "":
		u := q.URL
		q.URL = ""
		return []side{eq("src_url", u), eq("dst_url", u)}, true
	case q.Hash != "":
		h := strings.ToLower(strings.TrimSpace(q.Hash))
		q.Hash = ""
		col := store.HashColumn(h)
		if col == "" {
			return nil, true
		}
		return []side{eq(col, h)}, true
	}
	return nil, false
}

// conditions writes the WHERE terms of every filter left in q. timeCol and
// idCol name the columns the time range and the cursor apply to: events'
// own, or event_orgs' when an organisation's index drives the search.
func conditions(q store.EventQuery, after *store.Cursor, asc bool, a *args, timeCol, idCol string) []string {
	var where []string
	for {
		sides, ok := indicatorSides(&q)
		if !ok {
			break
		}
		if len(sides) == 0 {
			where = append(where, "false")
			continue
		}
		parts := make([]string, len(sides))
		for i, sd := range sides {
			parts[i] = "(" + sd.cond(a) + ")"
		}
		where = append(where, "("+strings.Join(parts, " OR ")+")")
	}
	if q.Taxonomy != "" {
		where = append(where, "taxonomy = "+a.add(q.Taxonomy))
	}
	if q.Type != "" {
		where = append(where, "type = "+a.add(q.Type))
	}
	if q.Feed != "" {
		where = append(where, "feed = "+a.add(q.Feed))
	}
	if q.TLP != "" {
		where = append(where, "tlp = "+a.add(strings.ToUpper(q.TLP)))
	}
	if q.Organisation != "" {
		// One primary-key lookup in event_orgs per candidate row.
		where = append(where, "EXISTS (SELECT 1 FROM event_orgs AS o WHERE o.org = "+a.add(q.Organisation)+
			" AND o.time_source = events.time_source AND o.event_id = events.id)")
	}
	if !q.From.IsZero() {
		where = append(where, timeCol+" >= "+a.add(q.From))
	}
	if !q.To.IsZero() {
		where = append(where, timeCol+" < "+a.add(q.To))
	}
	if after != nil {
		op := " < "
		if asc {
			op = " > "
		}
		where = append(where, "("+timeCol+", "+idCol+")"+op+"("+a.add(time.UnixMicro(after.TimeSource))+"::timestamptz, "+a.add(after.ID)+"::bigint)")
	}
	return where
}

// SearchEvents returns one page of matching events, newest time.source
// first. The query has the same shape as sqlitestore's (see there): an
// indicator becomes one ORDER BY … LIMIT subquery per side on that side's
// (column, time_source, id) index, merged by UNION, and an Organisation
// is probed in event_orgs for each of its candidates. Without an
// indicator, an Organisation drives the search from its range of
// event_orgs, which comes out in page order.
func (s *Store) SearchEvents(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	if !store.ValidSort(q.Sort) {
		return store.EventPage{}, fmt.Errorf("pgstore: search events: %w", store.ErrBadColumn)
	}
	if q.Sort.Windowed() {
		page, err := s.searchWindow(ctx, q)
		if err != nil {
			return store.EventPage{}, fmt.Errorf("pgstore: search events by %s: %w", q.Sort, err)
		}
		return page, nil
	}
	limit := store.PageLimit(q.Limit)
	var after *store.Cursor
	if q.After != "" {
		c, err := store.ParseCursor(q.After)
		if err != nil {
			return store.EventPage{}, fmt.Errorf("pgstore: search events: %w", err)
		}
		after = &c
	}
	text, a := matchSQL(q, after, shape{limit: limit + 1, asc: q.Ascending, empty: s.emptyPartitions(ctx)})
	if text == "" {
		return store.EventPage{}, nil
	}
	// The row past the page only tells that there is a next one.
	matches, err := storedEventsUpTo(ctx, s.pool, limit, text, a...)
	if err != nil {
		return store.EventPage{}, fmt.Errorf("pgstore: search events: %w", err)
	}
	var page store.EventPage
	if len(matches) > limit {
		last := matches[limit-1]
		page.Next = store.Cursor{TimeSource: last.timeSource.UnixMicro(), ID: last.Seq}.String()
		matches = matches[:limit]
	}
	for _, m := range matches {
		page.Events = append(page.Events, m.shown())
	}
	return page, nil
}

// shape is what a statement of matchSQL returns: at most limit rows, in
// time order (oldest first when asc), either whole events (id, hash,
// stored, time_source, data) or, with ids, only their id and time_source.
type shape struct {
	ids   bool
	limit int
	asc   bool
	// empty is where the sealed partitions hold no value of a column
	// (Store.emptyPartitions): a side on that column leaves them out.
	empty emptyRanges
}

// matchSQL writes the statement of the events q matches after the keyset
// cursor after, in the shape sh; "" when nothing can match.
func matchSQL(q store.EventQuery, after *store.Cursor, sh shape) (string, args) {
	sides, driven := indicatorSides(&q)
	if driven && len(sides) == 0 {
		return "", nil
	}
	dir := " DESC"
	if sh.asc {
		dir = " ASC"
	}
	cols, joined := storedCols(""), storedCols("e.")
	if sh.ids {
		cols, joined = "id, time_source", "e.id, e.time_source"
	}
	var (
		a  args
		sb strings.Builder
	)
	switch {
	case !driven && q.Organisation != "":
		org := q.Organisation
		q.Organisation = ""
		sb.WriteString(`SELECT ` + joined + ` FROM event_orgs AS o JOIN events AS e ON e.id = o.event_id
			WHERE o.org = ` + a.add(org))
		for _, w := range conditions(q, after, sh.asc, &a, "o.time_source", "o.event_id") {
			sb.WriteString(" AND " + w)
		}
		sb.WriteString(` ORDER BY o.time_source` + dir + `, o.event_id` + dir + ` LIMIT ` + a.add(sh.limit))
	case !driven:
		where := conditions(q, after, sh.asc, &a, "time_source", "id")
		sb.WriteString(`SELECT ` + cols + ` FROM events`)
		if len(where) > 0 {
			sb.WriteString(" WHERE " + strings.Join(where, " AND "))
		}
		sb.WriteString(` ORDER BY time_source` + dir + `, id` + dir + ` LIMIT ` + a.add(sh.limit))
	default:
		if !sh.ids {
			sb.WriteString(`SELECT ` + joined + ` FROM (`)
		}
		for i, sd := range sides {
			if i > 0 {
				sb.WriteString(" UNION ")
			}
			conds := append([]string{sd.cond(&a)}, conditions(q, after, sh.asc, &a, "time_source", "id")...)
			if skip := sh.empty.leaveOut(sd.col); skip != "" {
				conds = append(conds, skip)
			}
			sb.WriteString(`SELECT id, time_source FROM (SELECT id, time_source FROM events WHERE `)
			sb.WriteString(strings.Join(conds, " AND "))
			sb.WriteString(` ORDER BY time_source` + dir + `, id` + dir + ` LIMIT ` + a.add(sh.limit) + `) AS side` + strconv.Itoa(i))
		}
		sb.WriteString(` ORDER BY time_source` + dir + `, id` + dir + ` LIMIT ` + a.add(sh.limit))
		if !sh.ids {
			sb.WriteString(`) AS k JOIN events AS e ON e.id = k.id ORDER BY k.time_source` + dir + `, k.id` + dir)
		}
	}
	return sb.String(), a
}
