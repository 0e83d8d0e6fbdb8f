package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// The batch's events are written with COPY … FROM STDIN BINARY, the
// cheapest way into PostgreSQL: no statement to plan, no arrays to build
// and unpack, each value sent once in its binary form. COPY cannot skip a
// row whose hash is stored already, and no partition that takes inserts
// has an index on hash to refuse one (migration 17): the batch asks
// first which of its hashes are stored, the hot partition's from the
// process's set of them (hotset.go), the closed partitions' from theirs
// (closedset.go) and in SQL, and copies the others only (copyEvents).
//
// COPY returns no ids, so the batch reserves its ids first, from the
// events' own identity sequence, and writes them itself; the rows of
// event_orgs and notify_queue of its tagged events are then copied too,
// knowing their ids. The ids are reserved only after the batch holds the
// events table in ROW EXCLUSIVE mode, which keeps EventsAfter's guarantee:
// a follower's SHARE lock waits for every transaction that may still
// write an id it has handed out, so an id at or below the highest it reads
// is committed or never will be.

// copyEventsSQL copies rows in appendCopyRows' form.
const copyEventsSQL = `COPY events (id, hash, time_source, stored, feed, taxonomy, type, tlp, src_ip, dst_ip,
	src_asn, dst_asn, src_fqdn, dst_fqdn, src_url, dst_url, md5, sha1, sha256, block_id, block_slot) FROM STDIN BINARY`

// copyBlocksSQL copies the batch's blocks in appendCopyBlocks' form.
const copyBlocksSQL = `COPY event_blocks (id, data) FROM STDIN BINARY`

// appendCopyRows appends the batch b in COPY's binary form for
// copyEventsSQL, each row naming its block (b.starts, blocks.go), its id
// and its block's left 0: it appends to at where they are in buf, two a
// row, for encodedCopy.setIDs to write once the ids are reserved. Written here
// rather than by pgx's CopyFrom, which looks up an encoder for every
// value of every row (2.3 µs an event, a quarter of the client's share of
// storing).
func appendCopyRows(buf []byte, b *batchColumns, now time.Time, at []int) ([]byte, []int) {
	buf = appendCopyHeader(buf)
	stored := pgMicros(now)
	k := 0 // the block of event i
	for i := range b.hash {
		if k+1 < len(b.starts) && b.starts[k+1] == i {
			k++
		}
		buf = binary.BigEndian.AppendUint16(buf, 21)
		at = append(at, len(buf)+4)
		buf = appendInt8(buf, 0)
		buf = appendBytes(buf, b.hash[i])
		buf = appendInt8(buf, pgMicros(b.timeSource[i]))
		buf = appendInt8(buf, stored)
		for _, t := range []pgtype.Text{b.feed[i], b.taxonomy[i], b.typ[i], b.tlp[i]} {
			buf = appendText(buf, t)
		}
		buf = appendInet(buf, b.srcIP[i])
		buf = appendInet(buf, b.dstIP[i])
		buf = appendBigint(buf, b.srcASN[i])
		buf = appendBigint(buf, b.dstASN[i])
		for _, t := range []pgtype.Text{b.srcFQDN[i], b.dstFQDN[i], b.srcURL[i], b.dstURL[i], b.md5[i], b.sha1[i], b.sha256[i]} {
			buf = appendText(buf, t)
		}
		at = append(at, len(buf)+4)
		buf = appendInt8(buf, 0)
		buf = binary.BigEndian.AppendUint32(buf, 4)
		buf = binary.BigEndian.AppendUint32(buf, uint32(i-b.starts[k]))
	}
	return binary.BigEndian.AppendUint16(buf, 0xffff), at // the trailer: -1
}

// appendCopyBlockHeads appends what the rows of copyBlocksSQL hold
// besides the blocks: COPY's header, then for block k its row's head,
// its id (the id of its first event, left 0) and the length of its data,
// copyBlockHead bytes each, then the trailer. It appends to at where the
// ids are in buf, for encodedCopy.setIDs. The blocks themselves are not
// copied (copyBlocksReader).
func appendCopyBlockHeads(buf []byte, blocks [][]byte, at []int) ([]byte, []int) {
	buf = appendCopyHeader(buf)
	for _, block := range blocks {
		buf = binary.BigEndian.AppendUint16(buf, 2)
		at = append(at, len(buf)+4)
		buf = appendInt8(buf, 0)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(block)))
	}
	return binary.BigEndian.AppendUint16(buf, 0xffff), at
}

// copyBlockHead is the length of a block's row in appendCopyBlockHeads'
// form: the number of columns, the id's length and the id, the data's
// length.
const copyBlockHead = 2 + 4 + 8 + 4

// copyHeaderSize is the length of COPY's header (appendCopyHeader).
const copyHeaderSize = 19

// copyBlocksReader reads the rows of copyBlocksSQL: the heads written by
// appendCopyBlockHeads into heads, each followed by its block. A batch's
// blocks, about half a kilobyte an event, are read from where they were
// compressed rather than copied into one buffer first.
func copyBlocksReader(heads []byte, blocks [][]byte) io.Reader {
	pieces := make(net.Buffers, 0, 2*len(blocks)+1)
	from, at := 0, copyHeaderSize
	for _, block := range blocks {
		at += copyBlockHead
		pieces = append(pieces, heads[from:at], block)
		from = at
	}
	pieces = append(pieces, heads[from:]) // the trailer
	return &pieces
}

// encodedCopy is a batch's rows of events in COPY's binary form, and of
// its blocks but for the blocks (appendCopyBlockHeads), written before its
// ids are reserved (encodeCopy): rowIDs are where each event's id and its
// block's are in rows, blockIDs where each block's is in blocks.
type encodedCopy struct {
	rows, blocks     *[]byte
	rowIDs, blockIDs []int
}

// encodeCopy writes the COPY rows of b, packed, into b.copy, in buffers
// of the pool: the batch's CPU before its transaction, not while it holds
// hotLock, which the batches of every process wait for.
func (b *batchColumns) encodeCopy(now time.Time) {
	c := &b.columns.copy
	c.rows, c.blocks = buffers.Get().(*[]byte), buffers.Get().(*[]byte)
	*c.rows, c.rowIDs = appendCopyRows(slices.Grow((*c.rows)[:0], copySize(b)), b, now, c.rowIDs[:0])
	*c.blocks, c.blockIDs = appendCopyBlockHeads((*c.blocks)[:0], b.blocks, c.blockIDs[:0])
	b.copy = c
}

// setIDs writes the batch's ids into its COPY rows, ids[i] the id
// of event i.
func (c *encodedCopy) setIDs(ids []int64, starts []int) {
	rows, blocks := *c.rows, *c.blocks
	k := 0
	for i, id := range ids {
		if k+1 < len(starts) && starts[k+1] == i {
			k++
		}
		binary.BigEndian.PutUint64(rows[c.rowIDs[2*i]:], uint64(id))
		binary.BigEndian.PutUint64(rows[c.rowIDs[2*i+1]:], uint64(ids[starts[k]]))
	}
	for k, at := range c.blockIDs {
		binary.BigEndian.PutUint64(blocks[at:], uint64(ids[starts[k]]))
	}
}

// release gives the buffers back.
func (c *encodedCopy) release() {
	for _, buf := range []*[]byte{c.rows, c.blocks} {
		*buf = (*buf)[:0]
		buffers.Put(buf)
	}
	c.rows, c.blocks = nil, nil
}

// appendCopyHeader appends the header of COPY's binary form.
func appendCopyHeader(buf []byte) []byte {
	buf = append(buf, "PGCOPY\n\377\r\n\000"...)
	buf = binary.BigEndian.AppendUint32(buf, 0)  // flags
	return binary.BigEndian.AppendUint32(buf, 0) // no header extension
}

// pgEpoch is PostgreSQL's epoch for timestamps, 2000-01-01 UTC, in Unix
// microseconds.
const pgEpoch = 946_684_800_000_000

func pgMicros(t time.Time) int64 { return t.UnixMicro() - pgEpoch }

// appendNull appends a NULL value: a length of -1.
func appendNull(buf []byte) []byte { return binary.BigEndian.AppendUint32(buf, 0xffffffff) }

func appendInt8(buf []byte, n int64) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 8)
	return binary.BigEndian.AppendUint64(buf, uint64(n))
}

func appendBigint(buf []byte, n pgtype.Int8) []byte {
	if !n.Valid {
		return appendNull(buf)
	}
	return appendInt8(buf, n.Int64)
}

func appendBytes(buf []byte, v []byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
	return append(buf, v...)
}

func appendText(buf []byte, t pgtype.Text) []byte {
	if !t.Valid {
		return appendNull(buf)
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(t.String)))
	return append(buf, t.String...)
}

// appendInet appends an address as inet: PostgreSQL's family (2 for IPv4,
// 3 for IPv6), the prefix length (the whole address), not a cidr, the
// address's length and its bytes.
func appendInet(buf []byte, a *netip.Addr) []byte {
	if a == nil {
		return appendNull(buf)
	}
	if a.Is4() {
		v := a.As4()
		buf = binary.BigEndian.AppendUint32(buf, 8)
		return append(append(buf, 2, 32, 0, 4), v[:]...)
	}
	v := a.As16()
	buf = binary.BigEndian.AppendUint32(buf, 20)
	return append(append(buf, 3, 128, 0, 16), v[:]...)
}

// repeatsHash reports whether a hash occurs twice in the batch, which COPY
// would refuse where ON CONFLICT keeps the first.
func repeatsHash(hashes [][]byte) bool {
	// The set is kept from one batch to the next (cleared, a map keeps
	// its room): made for each batch, it was most of what was left of
	// the client's allocations on a batch.
	seen := hashSets.Get().(map[event.Hash]struct{})
	defer func() {
		clear(seen)
		hashSets.Put(seen)
	}()
	for _, h := range hashes {
		k := event.Hash(h)
		if _, ok := seen[k]; ok {
			return true
		}
		seen[k] = struct{}{}
	}
	return false
}

var hashSets = sync.Pool{New: func() any { return make(map[event.Hash]struct{}) }}

// buffers holds the buffers of batches being encoded, their COPY rows:
// a megabyte or so a batch, which the garbage collector would
// otherwise mark and sweep again for every batch.
var buffers = sync.Pool{New: func() any { return new([]byte) }}

// copySize is about the length of b in appendCopyRows' form.
func copySize(b *batchColumns) int {
	n := 32
	for i := range b.hash {
		n += 200 + len(b.srcURL[i].String) + len(b.dstURL[i].String)
	}
	return n
}

// packBatch compresses the records of b into its blocks, for copyEvents,
// unless b holds a hash twice (copyEvents packs the batch without its
// repeats then).
// It is called before the batch's transaction begins: compressing is half
// of the client's work on a batch, and neither the pooled connection nor
// the lock that EventsAfter's SHARE lock waits for need be held for it.
// It writes the batch's COPY rows then too (encodeCopy), but for their
// ids.
func (b *batchColumns) packBatch(now time.Time) {
	if repeatsHash(b.hash) {
		return
	}
	b.pack()
	b.encodeCopy(now)
}

// pack writes the records of b's events into its blocks, compressed.
func (b *batchColumns) pack() {
	b.packed = packEvents(b.events)
	b.starts, b.blocks = b.packed.starts, b.packed.blocks
}

// copyEvents stores the batch b of events, packed (packBatch), with COPY
// in tx, leaving out the events stored before and the repeats of the
// batch (the first of each hash is kept): it takes hotLock (hotset.go),
// reserves the batch's ids, asks the hot set and the closed partitions
// which of its hashes are stored, and, when some are or the batch repeats
// one, fills sub with the events left and copies those instead. It
// copies their rows only (copyRows), and returns their ids and the batch
// they are in (b or sub), whose blocks and tags the caller copies once it
// has given hotLock back (copyBlocksAndTags).
func (s *Store) copyEvents(ctx context.Context, tx pgx.Tx, hold *hotHold, events []*event.Event, b, sub *batchColumns, now time.Time) (ids []int64, copied *batchColumns, err error) {
	n := len(b.hash)
	// hotLock first: the batches waiting for it hold no lock on events,
	// so that a roll or a follower's SHARE lock (EventsAfter) waits for
	// the batches being stored, not for every one in the queue.
	// The three statements are sent at once (one round trip while the
	// lock is held, not three), and run in order.
	var steps pgx.Batch
	steps.Queue(lockHotSession)
	steps.Queue(`LOCK TABLE ONLY events IN ROW EXCLUSIVE MODE`)
	// The ids come back as one array, not a row each.
	steps.Queue(`SELECT array_agg(nextval('events_id_seq')) FROM generate_series(1, $1)`, n)
	// Held from here on as far as the cleanup knows: a failure reading
	// the lock's result may come after the server granted it, and an
	// unlock of a lock not held is only a warning.
	hold.held = true
	results := tx.SendBatch(ctx, &steps)
	defer results.Close()
	if _, err := results.Exec(); err != nil {
		return nil, nil, fmt.Errorf("lock the hot partition: %w", err)
	}
	if _, err := results.Exec(); err != nil {
		return nil, nil, fmt.Errorf("lock events: %w", err)
	}
	if err := results.QueryRow().Scan(&ids); err != nil {
		return nil, nil, fmt.Errorf("reserve ids: %w", err)
	}
	if err := results.Close(); err != nil {
		return nil, nil, fmt.Errorf("reserve ids: %w", err)
	}
	if len(ids) != n {
		return nil, nil, fmt.Errorf("reserve ids: %d of %d", len(ids), n)
	}
	// Reserved under hotLock, the ids follow one another; sorted all the
	// same, as the events' order is what the ids must follow.
	slices.Sort(ids)
	part := ids[0] >> partitionBits
	start := partitionStart(part)
	if ids[n-1] >= start+1<<partitionBits {
		return nil, nil, fmt.Errorf("reserve ids: %d to %d cross the end of a partition", ids[0], ids[n-1])
	}
	stored := make(map[string]bool)
	if err := s.hotHashes.check(ctx, tx, part, ids[0], b.hash, stored); err != nil {
		return nil, nil, err
	}
	s.hotHashes.dropPrev(s.closed.covered.Load())
	if err := closedStored(ctx, tx, &s.closed, &s.hotHashes, b.hash, start, stored); err != nil {
		return nil, nil, err
	}
	if len(stored) > 0 || b.blocks == nil {
		left := make([]*event.Event, 0, n)
		for i, e := range events {
			if k := string(b.hash[i]); !stored[k] {
				stored[k] = true // a repeat of it is left out
				left = append(left, e)
			}
		}
		if len(left) == 0 {
			return nil, nil, nil
		}
		sub.fill(left, now)
		sub.pack()
		b = sub
		ids = ids[:len(left)]
	}
	if err := copyRows(ctx, tx, b, ids, now); err != nil {
		return nil, nil, err
	}
	s.hotHashes.record(part, b.hash, ids)
	return ids, b, nil
}

// lockHot takes hotLock until the transaction ends.
var lockHot = `SELECT pg_advisory_xact_lock(` + sqlkit.LockKey(hotLock) + `, 0)`

// closedRangeHold asks the closed partitions of a range of ids which of
// some hashes they hold: those the set does not cover, or one it covers.
// It bounds ids by parameters: pgx prepares it, and after five executions
// PostgreSQL may plan it once for any parameters (a generic plan), which
// prunes the partitions outside the bounds when it starts, not when it
// plans (TestClosedHoldPrunesGeneric).
const closedRangeHold = `SELECT hash FROM events WHERE id >= $1 AND id < $2 AND hash = ANY($3)`

// closedStored adds to stored the hashes of hashes that a closed
// partition, one below the partition whose first id is start, holds: the
// closed partitions the set does not cover are asked every hash (but the
// one the hot set kept of the partition a roll closed, prev, which
// answers for it), and each covered one only the hashes the set names it
// for (closedset.go): a batch of new events asks none, a hash admitted by
// mistake one partition or a few, not every covered partition. When more
// than closedPartitionsApart partitions are named (a stored hash names its
// own and about 2.5 % of the others its layer lists, 9 of a year's 365),
// one statement asks every hash named of the partitions from the first
// named to the last, as the set without tags asked the covered
// partitions, rather than a statement each.
func closedStored(ctx context.Context, tx querier, closed *closedSet, hot *hotSet, hashes [][]byte, start int64, stored map[string]bool) error {
	covered := min(partitionStart(closed.covered.Load()), start)
	if covered < start {
		lo := covered
		if prev := hot.closedPrev((start >> partitionBits) - 1); prev != nil && partitionStart(prev.part) >= covered {
			if err := prev.storedIn(ctx, tx, hashes, stored, false); err != nil {
				return err
			}
			if err := rangeStored(ctx, tx, lo, partitionStart(prev.part), hashes, stored); err != nil {
				return err
			}
		} else if err := rangeStored(ctx, tx, lo, start, hashes, stored); err != nil {
			return err
		}
	}
	if covered == 0 {
		return nil
	}
	byPart, admitted := closed.admitted(hashes, covered>>partitionBits)
	nums := slices.Sorted(maps.Keys(byPart))
	if len(nums) > closedPartitionsApart {
		return rangeStored(ctx, tx, partitionLow(nums[0]), partitionStart(nums[len(nums)-1]+1), admitted, stored)
	}
	for _, n := range nums {
		if err := rangeStored(ctx, tx, partitionLow(n), partitionStart(n+1), byPart[n], stored); err != nil {
			return err
		}
	}
	return nil
}

// closedPartitionsApart is how many covered partitions named by the set
// closedStored asks a statement each at most.
const closedPartitionsApart = 4

// partitionLow is the lowest id of partition n, as closedRangeHold bounds
// it: partition 0, the events table of before migration 13, has no lower
// bound.
func partitionLow(n int64) int64 {
	if n == 0 {
		return math.MinInt64
	}
	return partitionStart(n)
}

// rangeStored adds to stored the hashes of hashes an event of an id from
// lo up to hi has.
func rangeStored(ctx context.Context, tx querier, lo, hi int64, hashes [][]byte, stored map[string]bool) error {
	if lo >= hi || len(hashes) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, closedRangeHold, lo, hi, hashes)
	if err != nil {
		return fmt.Errorf("look up the closed partitions: %w", err)
	}
	var hash []byte
	if _, err := pgx.ForEachRow(rows, []any{&hash}, func() error {
		stored[string(hash)] = true
		return nil
	}); err != nil {
		return fmt.Errorf("look up the closed partitions: %w", err)
	}
	return nil
}

// copyWithIDs copies the batch b, packed, in tx once its ids are
// reserved, ids[i] the id of event i: its rows (copyRows), its blocks and
// the rows of event_orgs and notify_queue of its tagged events
// (copyBlocksAndTags).
func copyWithIDs(ctx context.Context, tx pgx.Tx, b *batchColumns, ids []int64, now time.Time) error {
	if err := copyRows(ctx, tx, b, ids, now); err != nil {
		return err
	}
	return copyBlocksAndTags(ctx, tx, b, ids, now)
}

// copyRows copies the rows of the batch b, packed, in tx once its ids are
// reserved, ids[i] the id of event i: the rows packBatch wrote, or written
// here (a batch packed again without the events stored before). It is
// what a batch copies holding hotLock: the rows are what the next batch's
// checks read (their hashes, by id), not the blocks nor the tags.
func copyRows(ctx context.Context, tx pgx.Tx, b *batchColumns, ids []int64, now time.Time) error {
	if b.copy == nil {
		b.encodeCopy(now)
	}
	b.copy.setIDs(ids, b.starts)
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(*b.copy.rows), copyEventsSQL); err != nil {
		return fmt.Errorf("copy events: rows: %w", err)
	}
	return nil
}

// copyBlocksAndTags copies what copyRows leaves of the batch b: its blocks
// and the rows of event_orgs and notify_queue of its tagged events. A
// batch copies them once it has given hotLock back, before its commit:
// nothing under the lock reads them, and they commit with the rows.
func copyBlocksAndTags(ctx context.Context, tx pgx.Tx, b *batchColumns, ids []int64, now time.Time) error {
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, copyBlocksReader(*b.copy.blocks, b.blocks), copyBlocksSQL); err != nil {
		return fmt.Errorf("copy events: blocks: %w", err)
	}
	if len(b.tagEvent) > 0 {
		orgs := make([][]any, len(b.tagEvent))
		queue := make([][]any, len(b.tagEvent))
		for j, i := range b.tagEvent {
			orgs[j] = []any{b.tagOrg[j], b.timeSource[i], ids[i]}
			queue[j] = []any{b.tagOrg[j], ids[i], now}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"event_orgs"}, []string{"org", "time_source", "event_id"}, pgx.CopyFromRows(orgs)); err != nil {
			return fmt.Errorf("copy event organisations: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"notify_queue"}, []string{"org", "event_id", "stored"}, pgx.CopyFromRows(queue)); err != nil {
			return fmt.Errorf("copy notification queue: %w", err)
		}
	}
	return nil
}

// copyIn is one COPY … FROM STDIN BINARY of copyInSavepoint: its
// statement, and rows appending its rows in COPY's binary form to a
// buffer; what names it in an error.
type copyIn struct {
	what string
	sql  string
	rows func(buf []byte) []byte
}

// copyAll runs copies in tx, in order, their rows written into one pooled
// buffer (buffers).
func copyAll(ctx context.Context, tx pgx.Tx, copies ...copyIn) error {
	buf := buffers.Get().(*[]byte)
	rows := (*buf)[:0]
	defer func() {
		*buf = rows[:0]
		buffers.Put(buf)
	}()
	for _, c := range copies {
		rows = c.rows(rows[:0])
		if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(rows), c.sql); err != nil {
			return fmt.Errorf("%s: %w", c.what, err)
		}
	}
	return nil
}

// copyInSavepoint is copyAll inside the savepoint name. It releases the
// savepoint and reports true when all copies succeed; when the server
// refuses one with an error refused reports (a row stored already), it
// rolls the savepoint back and reports false, tx as it was before, for
// the caller to store the rows by a statement that skips or merges those.
func copyInSavepoint(ctx context.Context, tx pgx.Tx, name string, refused func(error) bool, copies ...copyIn) (bool, error) {
	if _, err := tx.Exec(ctx, `SAVEPOINT `+name); err != nil {
		return false, fmt.Errorf("savepoint: %w", err)
	}
	if err := copyAll(ctx, tx, copies...); err != nil {
		if !refused(err) {
			return false, err
		}
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT `+name); err != nil {
			return false, fmt.Errorf("rollback to savepoint: %w", err)
		}
		return false, nil
	}
	if _, err := tx.Exec(ctx, `RELEASE SAVEPOINT `+name); err != nil {
		return false, fmt.Errorf("release savepoint: %w", err)
	}
	return true, nil
}
