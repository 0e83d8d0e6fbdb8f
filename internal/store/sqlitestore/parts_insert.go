package sqlitestore

// Writing a batch in the parts layout.

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// Rows a statement: several rows an INSERT save the per-statement cost of
// database/sql and SQLite's VDBE setup. 64 × 14 parameters stay far below
// SQLite's limit of 32766.
const (
	partRowsPerInsert   = 64
	partRowColumns      = 14
	partBlocksPerInsert = 16
)

const partRowNames = "id, ts, h8, loc, src_ip, dst_ip, src_asn, dst_asn, src_fqdn, dst_fqdn, feed, taxonomy, type, tlp"

func multiInsertSQL(table, names string, columns, n int) string {
	row := "(?" + strings.Repeat(", ?", columns-1) + ")"
	return "INSERT INTO " + table + " (" + names + ") VALUES " + row + strings.Repeat(", "+row, n-1)
}

// observationDay is the UTC day of e's observation as partitions are
// closed by (store.ObservationTime): a batch of a later day than the hot
// partition's starts a new one, so that a partition mostly holds one
// day's events. time.source, which searches and retention read, may be
// anything; a partition's summary gives its time.source range.
func observationDay(e *event.Event, now time.Time) string {
	return store.ObservationTime(e, now).Format(dayFormat)
}

// dayFormat is a partition's day (event_parts.day).
const dayFormat = "20060102"

// newName is a dictionary entry the batch adds.
type newName struct {
	kind  int
	value string
	id    int64
}

// insertBatch stores b in one transaction: its identity, its new events
// (an event whose hash is stored already is skipped), their tags and the
// dedup keys. What costs (the lookup of its hashes, the records, their
// columns and compression) is done before this store's writers are
// serialised, so that a batch is compressed while another one is being
// written; ids, blocks, dictionary ids and the partition are given in the
// transaction, once the memory caught up with the writes of other stores
// and of this store's other writers (parts_shared.go): events another
// writer stored meanwhile are looked up again there. The memory takes the
// batch only once committed.
func (ps *parts) insertBatch(ctx context.Context, b store.EventBatch) (int, error) {
	now := time.Now()
	stored := now.UnixMicro()

	// A replayed batch stores nothing: its identity's INSERT, first in the
	// transaction, finds it recorded before a partition is opened for it.
	// It is not asked before the work below, which a replay (rare: a
	// delivery again after a failure) does for nothing: a read of
	// event_batches on a reader cost 0.8 ms a batch of 2,000 events, the
	// reader's view of the growing file mapped again (docs/PERFORMANCE.md,
	// the store-s39 helper).

	// The events not stored yet, each hash once.
	hashes := make([]event.Hash, len(b.Events))
	for i, e := range b.Events {
		hashes[i] = e.Hash()
	}
	if err := ps.refresh(ctx); err != nil {
		return 0, err
	}
	// Every event the memory holds has an id below lookedNext: one stored
	// after, here or elsewhere, has one from lookedNext on.
	ps.mu.RLock()
	lookedNext := ps.nextID
	ps.mu.RUnlock()
	events, newHashes, err := ps.unknown(ctx, b.Events, hashes, 0)
	if err != nil {
		return 0, fmt.Errorf("look up hashes: %w", err)
	}
	work, err := ps.prepareEvents(events, now)
	if err != nil {
		return 0, err
	}

	if beforeInsertTx != nil {
		beforeInsertTx()
	}
	ps.insert.Lock()
	defer ps.insert.Unlock()
	// The statements of the partition the batch will likely go into are
	// prepared before the transaction takes the writer's only connection.
	guess := ps.reusable(work.day)
	if guess != nil && len(events) > 0 {
		if err := guess.prepare(ctx, ps.s.write, ps.writeVersion, len(events), len(work.blocks)); err != nil {
			// Sealed by another store since, its compact rows dropped
			// (layout version 7): the transaction finds the partition
			// to write into, and runs its statements unprepared. Any
			// other failure is the batch's.
			guess.closeStatements()
			var tables int
			if qerr := ps.s.write.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name IN (?, ?)`, guess.table, guess.table+"_hot").Scan(&tables); qerr != nil || tables > 0 {
				return 0, fmt.Errorf("prepare the inserts of partition %d: %w", guess.n, err)
			}
			guess = nil
		}
	}

	tx, err := ps.s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	gen, err := ps.refreshTx(ctx, tx)
	if err != nil {
		return 0, err
	}
	ps.mu.RLock()
	moved := ps.nextID != lookedNext
	ps.mu.RUnlock()
	if moved && len(events) > 0 {
		// Another writer, of this store or another, stored events
		// meanwhile, perhaps these: looked up again, with the write lock
		// held, in the partitions that may hold them (the hot one, or one
		// sealed since by another store). A sealing stores no event: the
		// next id does not move.
		again, againHashes, err := ps.unknown(ctx, events, newHashes, lookedNext)
		if err != nil {
			return 0, fmt.Errorf("look up hashes: %w", err)
		}
		if len(again) < len(events) {
			events, newHashes = again, againHashes
			if work, err = ps.prepareEvents(events, now); err != nil {
				return 0, err
			}
		}
	}
	if b.ID != (event.Hash{}) {
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO event_batches (id, stored) VALUES (?, ?)`, b.ID[:], stored)
		if err != nil {
			return 0, fmt.Errorf("record batch: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return 0, err // stored before: the whole batch is a replay
		}
	}
	var (
		p       *partition
		created bool
	)
	if len(events) > 0 {
		if p, created, err = ps.hotPartition(ctx, tx, work.day); err != nil {
			return 0, fmt.Errorf("open a partition: %w", err)
		}
	}

	// Rows, keys, tags and dictionary entries, from the memory as caught
	// up: no other store writes before this transaction ends.
	var (
		entries = make([]partEntry, len(events))
		tags    []tag
		names   *partNames
	)
	ps.mu.RLock()
	nextID := ps.nextID
	names = ps.newNames()
	for b, bl := range work.blocks {
		for i := bl.start; i < bl.end; i++ {
			c := &work.columns[i]
			id := nextID + int64(i)
			entries[i] = names.entry(c, id, newHashes[i], (p.nextBlock+int64(b))<<8|int64(i-bl.start))
			for _, org := range c.Orgs {
				tags = append(tags, tag{org: org, timeSource: c.TimeSource, eventID: id})
			}
		}
	}
	ps.mu.RUnlock()
	nBlocks := len(work.blocks)

	for _, n := range names.list {
		if _, err := tx.ExecContext(ctx, `INSERT INTO event_dict (id, kind, value) VALUES (?, ?, ?)`, n.id, n.kind, n.value); err != nil {
			return 0, err
		}
	}
	if p != nil {
		if err := p.writeRows(ctx, tx, ps.enc, ps.writeVersion, entries, work.blocks, stored); err != nil {
			return 0, err
		}
	}
	if len(tags) > 0 {
		if err := insertTags(ctx, tx, tags, stored); err != nil {
			return 0, err
		}
	}
	if err := insertDedupKeys(ctx, tx, b.Dedup); err != nil {
		return 0, err
	}
	changed := p != nil || len(names.list) > 0
	if changed {
		if err := bumpGeneration(ctx, tx); err != nil {
			return 0, fmt.Errorf("next event generation: %w", err)
		}
	}
	// The lock is taken before the commit, so that a reader that finds
	// the batch's rows committed (its queue entries, say) and then asks
	// the memory for its hashes waits until they are there: a committed
	// event is never missing from the hot copy.
	ps.mu.Lock()
	if err := tx.Commit(); err != nil {
		ps.mu.Unlock()
		return 0, fmt.Errorf("commit: %w", err)
	}

	// Committed: searches may see the rows now.
	var left *partition // the partition the stream left for a new one
	if created {
		if n := len(ps.list); n > 0 {
			if last := ps.list[n-1]; !last.sealed && !last.sealing {
				last.sealing = true
				left = last
			}
		}
		ps.list = append(ps.list, p)
	}
	ps.nextID += int64(len(events))
	for _, n := range names.list {
		ps.addName(n.kind, n.value, n.id)
	}
	if p != nil {
		if ps.writeVersion >= hotChunksVersion {
			p.hotChunks.Store(true) // made by writeRows if it was not
		}
		p.nextBlock += int64(nBlocks)
		for _, en := range entries {
			p.add(en)
		}
		if p.sum.count >= int64(ps.partitionEvents) {
			p.sealing = true
		}
	}
	if changed {
		ps.seen.Store(gen + 1)
	}
	full := p != nil && p.sealing
	// A batch that stored nothing (all known) left nothing to judge by.
	leftGuess := p != nil && guess != nil && guess != p && !guess.sealing
	ps.mu.Unlock()
	if leftGuess {
		// Not written again: another store sealed it, or filled it.
		guess.closeStatements()
	}
	if left != nil {
		ps.sealLater(left)
	}
	if full {
		ps.sealLater(p)
	}
	return len(events), nil
}

// beforeInsertTx, when set (tests), runs in insertBatch between the
// lookup of its hashes and its transaction, before this store's writers
// are serialised: another writer of this store or another store may
// write there.
var beforeInsertTx func()

// unknown returns the events of list (whose hashes are hashes) that are
// not stored, each hash once, with their hashes; from is lookupHashes'.
// A writer's lookup, it starts the covering of the sealed partitions by
// the duplicate check's set (startCovering).
func (ps *parts) unknown(ctx context.Context, list []*event.Event, hashes []event.Hash, from int64) ([]*event.Event, []event.Hash, error) {
	ps.startCovering()
	known, err := ps.lookupHashes(ctx, hashes, from)
	if err != nil {
		return nil, nil, err
	}
	var (
		events    = make([]*event.Event, 0, len(list))
		newHashes = make([]event.Hash, 0, len(list))
		seen      = newFirstHashes(len(list))
	)
	for i, e := range list {
		if _, ok := known[hashes[i]]; ok {
			continue
		}
		if !seen.first(hashes, i) {
			continue
		}
		events = append(events, e)
		newHashes = append(newHashes, hashes[i])
	}
	return events, newHashes, nil
}

// firstHashes finds the first of each hash among a batch's: an open
// addressed table of their indexes (+1, 0 empty) by their first 8 bytes,
// at least twice as many slots as hashes. A map of the hashes themselves
// took a 32-byte key, hashed, and some 100 KB allocated, for each batch.
type firstHashes struct {
	slots []int32
	shift uint
}

func newFirstHashes(n int) firstHashes {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	return firstHashes{slots: make([]int32, size), shift: uint(64 - bits.Len(uint(size-1)))}
}

// first says whether hashes[i] is the first of its hash among those asked
// so far, and remembers it if so.
func (f firstHashes) first(hashes []event.Hash, i int) bool {
	mask := uint64(len(f.slots) - 1)
	for s := (hashKey(hashes[i]) * 0x9e3779b97f4a7c15) >> f.shift; ; s = (s + 1) & mask {
		j := f.slots[s]
		if j == 0 {
			f.slots[s] = int32(i + 1)
			return true
		}
		if hashes[j-1] == hashes[i] {
			return false
		}
	}
}

// batchWork is what a batch's events cost before its transaction: their
// columns, their blocks compressed, and the day of the partition.
type batchWork struct {
	columns []store.EventColumns
	blocks  []partBlock
	day     string
}

// prepareEvents does a batch's work that needs no id: events' columns and
// their records compressed in blocks.
func (ps *parts) prepareEvents(events []*event.Event, now time.Time) (batchWork, error) {
	var w batchWork
	if len(events) == 0 {
		return w, nil
	}
	w.day = observationDay(events[0], now)
	w.columns = make([]store.EventColumns, len(events))
	blocks, err := writeBlocks(ps.enc, events, ps.writeVersion >= splitVersion, func(i int, e *event.Event) {
		w.columns[i] = store.ExtractColumns(e, now)
	})
	if err != nil {
		return w, err
	}
	w.blocks = blocks
	return w, nil
}

// nextNameID is the id the next dictionary entry gets.
func (ps *parts) nextNameID() int64 { return ps.lastName + 1 }

// partNames gives a batch's feeds, taxonomies, types and TLPs their
// dictionary numbers: the known ones from ps.dict (read under ps.mu,
// caught up in the writer's transaction), the new ones numbered on from the last, listed to be
// written with the batch and added to ps.dict once it commits.
type partNames struct {
	ps   *parts
	list []newName
	next int64
}

func (ps *parts) newNames() *partNames { return &partNames{ps: ps, next: ps.nextNameID()} }

func (n *partNames) code(kind int, value string) int64 {
	if value == "" {
		return 0
	}
	if id, ok := n.ps.dict[kind][value]; ok {
		return id
	}
	for _, nn := range n.list {
		if nn.kind == kind && nn.value == value {
			return nn.id
		}
	}
	n.list = append(n.list, newName{kind, value, n.next})
	n.next++
	return n.next - 1
}

// entry is the compact row of the event of id whose columns are c, its
// record at loc (block × 256 + slot): what a batch and the migration from
// the rows layout (parts_migrate.go) both write.
func (n *partNames) entry(c *store.EventColumns, id int64, h event.Hash, loc int64) partEntry {
	en := partEntry{ts: c.TimeSource, id: id, h8: hashKey(h), loc: loc,
		srcIP: c.SrcIP, dstIP: c.DstIP, srcASN: c.SrcASN, dstASN: c.DstASN, srcFQDN: c.SrcFQDN, dstFQDN: c.DstFQDN,
		feed: n.code(dictFeed, c.Feed), taxonomy: n.code(dictTaxonomy, c.Taxonomy), typ: n.code(dictType, c.Type), tlp: n.code(dictTLP, c.TLP)}
	for _, k := range []partKey{{keySourceURL, c.SrcURL}, {keyDestinationURL, c.DstURL}, {keyMD5, c.MD5}, {keySHA1, c.SHA1}, {keySHA256, c.SHA256}} {
		if k.value != "" {
			en.keys = append(en.keys, k)
		}
	}
	return en
}

// tsBase is what a new partition of day holds its rows' ts relative to:
// the day's midnight (UTC), in microseconds, so that a day's time.source
// takes 6 bytes (SQLite's integers up to 2^47), not 8, in the row and in
// every index holding it. Any base keeps the order; an event far from the
// day only takes more bytes. Before layout version 4 the base was 0.
func tsBase(day string, version int) int64 {
	t, err := time.Parse(dayFormat, day)
	if err != nil || version < 4 {
		return 0
	}
	return t.UnixMicro()
}

// reusable returns the last partition when events observed on day may go
// into it: unless it is full or being sealed, or day is later than its
// own (a day's partition is sealed once the next day's events arrive;
// events of an earlier day go where the stream is).
func (ps *parts) reusable(day string) *partition {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	n := len(ps.list)
	if n == 0 {
		return nil
	}
	last := ps.list[n-1]
	if !last.sealed && !last.sealing &&
		(last.sum.count == 0 || (last.sum.count < int64(ps.partitionEvents) && day <= last.day)) {
		return last
	}
	return nil
}

// hotPartition returns the partition to write events observed on day
// into, in the writer's transaction tx once the memory caught up: the
// last one when reusable, else a new one created in tx (created), which
// the caller adds to the list once tx commits. Holding the write lock,
// no other store creates the same number.
func (ps *parts) hotPartition(ctx context.Context, tx *sql.Tx, day string) (p *partition, created bool, err error) {
	if last := ps.reusable(day); last != nil {
		return last, false, nil
	}
	ps.mu.RLock()
	p = &partition{n: 1, day: day, firstID: ps.nextID, nextBlock: 1, base: tsBase(day, ps.writeVersion)}
	if n := len(ps.list); n > 0 {
		p.n = ps.list[n-1].n + 1
	}
	ps.mu.RUnlock()
	p.table = partTable(p.n)
	p.hotChunks.Store(ps.writeVersion >= hotChunksVersion)
	for _, q := range partitionTables(p.n, ps.writeVersion) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return nil, false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO event_parts (id, day, first_id, ts_base) VALUES (?, ?, ?, ?)`, p.n, p.day, p.firstID, p.base); err != nil {
		return nil, false, err
	}
	return p, true, nil
}

// prepare prepares the INSERTs of a batch of n events in nBlocks blocks
// on db, as layout version version writes them, before its transaction
// takes the writer's only connection: parsing a statement of 64 rows
// costs about as much as running it. A partition keeps its statements
// until it is sealed.
func (p *partition) prepare(ctx context.Context, db *sql.DB, version, n, nBlocks int) error {
	texts := []string{
		multiInsertSQL(p.table+"_blocks", "id, stored, n, data", 4, min(nBlocks, partBlocksPerInsert)),
	}
	switch {
	case version < hotChunksVersion:
		texts = append(texts, multiInsertSQL(p.table, partRowNames, partRowColumns, min(n, partRowsPerInsert)))
		if r := n % partRowsPerInsert; r > 0 {
			texts = append(texts, multiInsertSQL(p.table, partRowNames, partRowColumns, r))
		}
	case p.hotChunks.Load():
		texts = append(texts, hotChunkInsertSQL(p.table))
	}
	if r := nBlocks % partBlocksPerInsert; r > 0 {
		texts = append(texts, multiInsertSQL(p.table+"_blocks", "id, stored, n, data", 4, r))
	}
	for _, text := range texts {
		if _, ok := p.stmts[text]; ok {
			continue
		}
		st, err := db.PrepareContext(ctx, text)
		if err != nil {
			return err
		}
		if p.stmts == nil {
			p.stmts = map[string]*sql.Stmt{}
		}
		p.stmts[text] = st
	}
	return nil
}

// exec runs an INSERT in tx, by its prepared statement when it has one.
func (p *partition) exec(ctx context.Context, tx *sql.Tx, text string, args []any) error {
	var err error
	if st, ok := p.stmts[text]; ok {
		_, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	} else {
		_, err = tx.ExecContext(ctx, text, args...)
	}
	return err
}

// closeStatements releases the statements of a partition that is no
// longer written.
func (p *partition) closeStatements() {
	for _, st := range p.stmts {
		st.Close()
	}
	p.stmts = nil
}

// writeRows inserts a batch's blocks, compact rows and keys into p, as
// layout version version writes them (ipColumn; the rows as chunks,
// compressed with enc, from version 8: writeHotChunks).
func (p *partition) writeRows(ctx context.Context, tx *sql.Tx, enc *zstd.Encoder, version int, entries []partEntry, blocks []partBlock, stored int64) error {
	args := make([]any, 0, partRowColumns*partRowsPerInsert)
	for start := 0; start < len(blocks); start += partBlocksPerInsert {
		end := min(start+partBlocksPerInsert, len(blocks))
		args = args[:0]
		for b := start; b < end; b++ {
			args = append(args, p.nextBlock+int64(b), stored, blocks[b].end-blocks[b].start, blocks[b].body)
		}
		if err := p.exec(ctx, tx, multiInsertSQL(p.table+"_blocks", "id, stored, n, data", 4, end-start), args); err != nil {
			return fmt.Errorf("insert blocks: %w", err)
		}
	}
	if version >= hotChunksVersion {
		if err := p.writeHotChunks(ctx, tx, enc, entries, !p.hotChunks.Load()); err != nil {
			return err
		}
	} else if err := p.writeCompactRows(ctx, tx, version, entries, args); err != nil {
		return err
	}
	var keys []any
	for i := range entries {
		for _, k := range entries[i].keys {
			keys = append(keys, k.kind, k.value, entries[i].id)
		}
	}
	for start := 0; start < len(keys); start += 3 * partRowsPerInsert {
		chunk := keys[start:min(start+3*partRowsPerInsert, len(keys))]
		if _, err := tx.ExecContext(ctx, multiInsertSQL(p.table+"_keys", "kind, value, id", 3, len(chunk)/3), chunk...); err != nil {
			return fmt.Errorf("insert keys: %w", err)
		}
	}
	return nil
}

// writeCompactRows inserts a batch's compact rows into p a row an event
// (ev_N), as layout versions before 8 write them; args is room for a
// statement's values.
func (p *partition) writeCompactRows(ctx context.Context, tx *sql.Tx, version int, entries []partEntry, args []any) error {
	for start := 0; start < len(entries); start += partRowsPerInsert {
		end := min(start+partRowsPerInsert, len(entries))
		args = args[:0]
		for i := start; i < end; i++ {
			en := &entries[i]
			args = append(args, en.id, en.ts-p.base, int64(en.h8), en.loc, ipColumn(en.srcIP, version), ipColumn(en.dstIP, version),
				nullInt(en.srcASN), nullInt(en.dstASN), nullText(en.srcFQDN), nullText(en.dstFQDN),
				nullInt(en.feed), nullInt(en.taxonomy), nullInt(en.typ), nullInt(en.tlp))
		}
		if err := p.exec(ctx, tx, multiInsertSQL(p.table, partRowNames, partRowColumns, end-start), args); err != nil {
			return fmt.Errorf("insert rows: %w", err)
		}
	}
	return nil
}

// errEventTooLarge is returned for an event whose record is larger than
// a block may hold.
var errEventTooLarge = errors.New("event too large to store")

// partBlock is a block of a batch: its events [start, end), their
// records' fields until it is compressed, and then its body.
type partBlock struct {
	start, end int
	recs       [][]event.RecordField
	body       []byte
}

// batchRecords are the records of a batch's events as their fields
// (event.AppendRecordFields) and their sizes: a block's columns are
// written from the fields, with no record written and cut up again. The
// fields of all the events share a few arrays, which release gives back
// for the next batch.
type batchRecords struct {
	fields [][]event.RecordField
	sizes  []int
	arrays []*[]event.RecordField
}

// fieldArrays keeps the arrays of batches' fields for the next ones.
var fieldArrays sync.Pool

// recordsOf returns events' records' fields, the work shared out among
// the cores in runs of events.
func recordsOf(events []*event.Event) batchRecords {
	r := batchRecords{fields: make([][]event.RecordField, len(events)), sizes: make([]int, len(events))}
	workers := min(runtime.GOMAXPROCS(0), (len(events)+blockEvents-1)/blockEvents)
	r.arrays = make([]*[]event.RecordField, workers)
	run := (len(events) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, end := w*run, min((w+1)*run, len(events))
			n := 0
			for _, e := range events[first:end] {
				n += e.Len()
			}
			all, _ := fieldArrays.Get().(*[]event.RecordField)
			if all == nil || cap(*all) < n {
				a := make([]event.RecordField, 0, n)
				all = &a
			}
			fields := (*all)[:0]
			var coder event.RecordCoder
			for i := first; i < end; i++ {
				at := len(fields)
				fields = coder.AppendFields(fields, events[i])
				r.fields[i] = fields[at:len(fields):len(fields)]
				r.sizes[i] = event.RecordSize(r.fields[i])
			}
			*all = fields
			r.arrays[w] = all
		}()
	}
	wg.Wait()
	return r
}

// release gives the fields' arrays back, emptied of what they point to.
func (r *batchRecords) release() {
	for _, a := range r.arrays {
		clear(*a)
		*a = (*a)[:0]
		fieldArrays.Put(a)
	}
	r.arrays, r.fields = nil, nil
}

// splitBlocks cuts a batch's records (their fields and sizes) into blocks
// of at most blockEvents records and blockBytes bytes; a record larger
// than blockBytes gets a block of its own, so that a block of several
// records never decompresses to more than blockBytes (plus their
// lengths).
func splitBlocks(recs [][]event.RecordField, sizes []int) []partBlock {
	var (
		blocks []partBlock
		cur    = partBlock{}
		size   int
	)
	for i, n := range sizes {
		if k := cur.end - cur.start; k > 0 && (k == blockEvents || size+n > blockBytes) {
			cur.recs = recs[cur.start:cur.end:cur.end]
			blocks = append(blocks, cur)
			cur, size = partBlock{start: i, end: i}, 0
		}
		cur.end = i + 1
		size += n
	}
	if cur.end > cur.start {
		cur.recs = recs[cur.start:cur.end:cur.end]
		blocks = append(blocks, cur)
	}
	return blocks
}

// writeBlocks returns events' blocks, compressed, the work shared out
// among the cores by stretches of blockEvents events (the first at
// events[0]): a stretch is cut into blocks as splitBlocks cuts a batch,
// usually one block of all its events. Each event's record is made
// (its fields) and added to its block's columns one after the other, so
// that the column writer reads the fields while they are in the core's
// cache: made for the whole batch first, they were some 4 MB for 2,000
// events, larger than a core's cache, and read back from memory. each
// is called with every event and its index, on the worker that makes its
// record, right after.
func writeBlocks(enc *zstd.Encoder, events []*event.Event, split bool, each func(int, *event.Event)) ([]partBlock, error) {
	stretches := (len(events) + blockEvents - 1) / blockEvents
	out := make([][]partBlock, stretches)
	err := shareOut(stretches, func(bw *blockWriter, s int) error {
		first := s * blockEvents
		var err error
		out[s], err = bw.stretch(enc, events, first, min(first+blockEvents, len(events)), split, each)
		return err
	})
	if err != nil {
		return nil, err
	}
	blocks := make([]partBlock, 0, stretches)
	for _, bl := range out {
		blocks = append(blocks, bl...)
	}
	return blocks, nil
}

// shareOut runs item for 0 ≤ i < n, shared out among the cores: worker w
// of min(GOMAXPROCS, n) takes w, w+workers, ... with a blockWriter of the
// pool, and stops at its first error. It returns the errors joined.
func shareOut(n int, item func(bw *blockWriter, i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			bw := blockWriters.Get().(*blockWriter)
			defer bw.release()
			for i := w; i < n; i += workers {
				if errs[w] = item(bw, i); errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stretch returns the blocks of events[first:end], compressed: each
// event's record made into bw.fields and added to the block at once; a
// block is closed when the next record would take it over blockBytes.
func (bw *blockWriter) stretch(enc *zstd.Encoder, events []*event.Event, first, end int, split bool, each func(int, *event.Event)) ([]partBlock, error) {
	var (
		blocks []partBlock
		cur    = partBlock{start: first, end: first}
		size   int
	)
	// The array is made once for a stretch's fields, not grown to it
	// (growing leaves arrays of half, a quarter... of it behind).
	need := 0
	for _, e := range events[first:end] {
		need += e.Len() + 1
	}
	if cap(bw.fields) < need {
		bw.fields = make([]event.RecordField, 0, need)
		bw.used = 0
	}
	bw.fields = bw.fields[:0]
	for i := first; i < end; i++ {
		at := len(bw.fields)
		bw.fields = bw.coder.AppendFields(bw.fields, events[i])
		bw.used = max(bw.used, len(bw.fields))
		rec := bw.fields[at:len(bw.fields):len(bw.fields)]
		n := event.RecordSize(rec)
		if n > maxPartRecord {
			return nil, fmt.Errorf("event of %d bytes: %w", n, errEventTooLarge)
		}
		if each != nil {
			each(i, events[i])
		}
		if cur.end > cur.start && size+n > blockBytes {
			cur.body = bw.finish(enc, split)
			blocks = append(blocks, cur)
			cur, size = partBlock{start: i, end: i}, 0
			// The closed block's fields are let go: the record moves to
			// the front of the array, which the next records fill.
			bw.fields = append(bw.fields[:0], rec...)
			rec = bw.fields[:len(rec):len(rec)]
		}
		bw.add(rec)
		cur.end = i + 1
		size += n
	}
	if cur.end > cur.start {
		cur.body = bw.finish(enc, split)
		blocks = append(blocks, cur)
	}
	return blocks, nil
}

// blockWriter is what compressing a block needs besides the encoder,
// kept from block to block and batch to batch.
type blockWriter struct {
	columns           columnWriter
	raw, apart, frame []byte
	// The records of the block being written (add), and the array of
	// their fields when writeBlocks makes them; used is the most of it
	// used since release.
	recs   [][]event.RecordField
	fields []event.RecordField
	used   int
	// coder makes the records of writeBlocks.
	coder event.RecordCoder
}

// release empties bw and puts it back in blockWriters: what it holds
// points into a batch's events, which it would keep alive.
func (bw *blockWriter) release() {
	bw.columns.reset()
	clear(bw.recs)
	bw.recs = bw.recs[:0]
	clear(bw.fields[:bw.used])
	bw.fields, bw.used = bw.fields[:0], 0
	bw.coder = event.RecordCoder{}
	blockWriters.Put(bw)
}

// add adds a record to the block being written: a block of one record
// is written plain (finish), so the first goes into the columns when
// the second comes.
func (bw *blockWriter) add(rec []event.RecordField) {
	bw.recs = append(bw.recs, rec)
	switch len(bw.recs) {
	case 1:
	case 2:
		bw.columns.reset()
		bw.columns.add(bw.recs[0])
		bw.columns.add(rec)
	default:
		bw.columns.add(rec)
	}
}

var blockWriters = sync.Pool{New: func() any { return new(blockWriter) }}

// compressBlocks sets each block's body, the blocks shared out among the
// cores: a block of several events in columns (parts_block.go), split
// (blockSplit) when split, one of a single event plain: its record after
// its length as a uvarint.
func compressBlocks(enc *zstd.Encoder, blocks []partBlock, split bool) {
	_ = shareOut(len(blocks), func(bw *blockWriter, b int) error {
		blocks[b].body = bw.compress(enc, blocks[b].recs, split)
		blocks[b].recs = nil
		return nil
	})
}

// compress returns the stored form of a block of recs.
func (bw *blockWriter) compress(enc *zstd.Encoder, recs [][]event.RecordField, split bool) []byte {
	for _, f := range recs {
		bw.add(f)
	}
	return bw.finish(enc, split)
}

// finish returns the stored form of the block of the records added
// since the last finish.
func (bw *blockWriter) finish(enc *zstd.Encoder, split bool) []byte {
	recs := bw.recs
	defer func() {
		clear(bw.recs)
		bw.recs = bw.recs[:0]
	}()
	var lead []byte
	bw.apart = bw.apart[:0]
	switch {
	case len(recs) > 1 && split:
		bw.raw, bw.apart = bw.columns.appendSplit(bw.raw[:0], bw.apart)
		bw.frame = enc.EncodeAll(bw.raw, bw.frame[:0])
		body := make([]byte, 0, 1+binary.MaxVarintLen64+len(bw.frame)+len(bw.apart))
		body = binary.AppendUvarint(append(body, blockSplit), uint64(len(bw.frame)))
		return append(append(body, bw.frame...), bw.apart...)
	case len(recs) > 1:
		bw.raw = bw.columns.appendTo(bw.raw[:0])
		lead = []byte{blockColumns}
	default:
		bw.raw = bw.raw[:0]
		for _, f := range recs {
			bw.raw = binary.AppendUvarint(bw.raw, uint64(event.RecordSize(f)))
			bw.raw = event.AppendFieldsRecord(bw.raw, f)
		}
	}
	bw.frame = enc.EncodeAll(bw.raw, bw.frame[:0])
	// The body is kept until the batch commits: of its own length, not
	// of the frame's room.
	body := make([]byte, 0, len(lead)+len(bw.frame))
	return append(append(body, lead...), bw.frame...)
}
