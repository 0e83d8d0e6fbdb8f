package sqlitestore

// Reading events of the parts layout by id and by hash: what GetEvent,
// EventsAfter, the notification queue, the deduplicator's confirmation
// and the searches' final pages build on. A block is decompressed once
// for all the events wanted from it, and only their records are written
// back (blockReader).

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// partRecord is a stored event's record as its block holds it.
type partRecord struct {
	stored int64
	record []byte
}

// idsPerQuery bounds the parameters of one IN list.
const idsPerQuery = 500

// errBadBlock is wrapped by every error of a block that does not decode:
// a damaged file, or one written by something else.
var errBadBlock = errors.New("malformed event block")

// records returns the records of the events of ids that are stored.
func (ps *parts) records(ctx context.Context, ids []int64) (map[int64]partRecord, error) {
	byBlock := map[*partition]map[int64][]wantedSlot{}
	want := func(p *partition, id, loc int64) {
		if byBlock[p] == nil {
			byBlock[p] = map[int64][]wantedSlot{}
		}
		byBlock[p][loc>>8] = append(byBlock[p][loc>>8], wantedSlot{id, int(loc & 0xff)})
	}
	sealed := map[*partition][]int64{}
	ps.mu.RLock()
	for _, id := range ids {
		p := ps.partitionOf(id)
		if p == nil {
			continue
		}
		if p.sealed {
			sealed[p] = append(sealed[p], id)
			continue
		}
		hot := p.hot.snap()
		if i := hot.find(id); i < hot.n && hot.row(i).id == id {
			want(p, id, hot.row(i).loc())
		}
		hot.done()
	}
	ps.mu.RUnlock()
	for p, list := range sealed {
		slices.Sort(list)
		list = slices.Compact(list)
		err := ps.sealedLocs(ctx, p, list, 0, func(id, loc int64) error {
			want(p, id, loc)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p.n, err)
		}
	}
	return ps.recordsAt(ctx, byBlock)
}

// recordsAt returns the records of the events at places: by partition
// and block, the events wanted of it. The records are written end to end
// into one array (buf; found says where each lies), each block
// decompressed once, into the same scratch.
func (ps *parts) recordsAt(ctx context.Context, byBlock map[*partition]map[int64][]wantedSlot) (map[int64]partRecord, error) {
	type foundAt struct {
		id, stored int64
		start, end int
	}
	var (
		found []foundAt
		br    = ps.newBlockReader()
		buf   []byte
	)
	defer ps.putBlockReader(br)
	for p, blocks := range byBlock {
		list := make([]int64, 0, len(blocks))
		for b := range blocks {
			list = append(list, b)
		}
		err := ps.eachByID(ctx, `SELECT id, stored, n, data FROM `+p.table+`_blocks`, list, 0, func(rows *sql.Rows) error {
			var (
				block, stored, n int64
				data             sql.RawBytes
			)
			if err := rows.Scan(&block, &stored, &n, &data); err != nil {
				return err
			}
			places := blocks[block]
			for _, pl := range places {
				if int64(pl.slot) >= n {
					return fmt.Errorf("block %d: event %d at slot %d of %d: %w", block, pl.id, pl.slot, n, errBadBlock)
				}
			}
			begin := len(buf)
			var err error
			if buf, err = br.read(buf, data, n, places, false); err != nil {
				return fmt.Errorf("block %d: %w", block, err)
			}
			for k, pl := range places {
				start, end := br.at(k, begin)
				found = append(found, foundAt{pl.id, stored, start, end})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p.n, err)
		}
	}
	out := make(map[int64]partRecord, len(found))
	for _, f := range found {
		out[f.id] = partRecord{stored: f.stored, record: buf[f.start:f.end:f.end]}
	}
	return out, nil
}

// wantedSlot is an event wanted of a block: its id and its slot there.
type wantedSlot struct {
	id   int64
	slot int
}

// blockReader reads the records wanted of blocks (read), reusing its
// memory from block to block and, through parts.blockReaders, from one
// read of events to the next: a page of results or GetEvent decompresses
// a few blocks of about 100 KB of columns each.
type blockReader struct {
	ps *parts
	// scratch holds a block decompressed; slots are the distinct slots
	// wanted, ascending, ends where their records end, index the slot of
	// each place wanted (an index in slots).
	scratch []byte
	slots   []int
	ends    []int
	index   []int
	// places are a chunk's events found (findInChunks, which borrows
	// the scratch too).
	places []chunkPlace
	// cols reads a block's columns, its memory kept from block to block.
	cols columnReader
}

// maxKeptScratch bounds the scratch a blockReader keeps for the next
// read: a block of one large event is not kept.
const maxKeptScratch = 4 * blockBytes

// newBlockReader returns a blockReader of ps's, one a read before left
// when there is one.
func (ps *parts) newBlockReader() *blockReader {
	if br, ok := ps.blockReaders.Get().(*blockReader); ok {
		return br
	}
	return &blockReader{ps: ps}
}

// putBlockReader keeps br for a later read.
func (ps *parts) putBlockReader(br *blockReader) {
	if cap(br.scratch) > maxKeptScratch {
		br.scratch = nil
	}
	ps.blockReaders.Put(br)
}

// read appends to out the records of places (their slots below n) of a
// block of n events, each once, in order of slot; at gives where each
// place's record lies. withoutRaw leaves raw out (appendBlock).
func (br *blockReader) read(out, data []byte, n int64, places []wantedSlot, withoutRaw bool) ([]byte, error) {
	br.slots, br.index = br.slots[:0], br.index[:0]
	ascending := true // and distinct: the places are the slots, in order
	for k, pl := range places {
		br.slots = append(br.slots, pl.slot)
		br.index = append(br.index, k)
		ascending = ascending && (k == 0 || pl.slot > places[k-1].slot)
	}
	if !ascending {
		slices.Sort(br.slots)
		br.slots = slices.Compact(br.slots)
		for k, pl := range places {
			br.index[k], _ = slices.BinarySearch(br.slots, pl.slot)
		}
	}
	slots := br.slots
	if int64(len(slots)) == n && n > 0 && int64(slots[len(slots)-1]) == n-1 {
		slots = nil // all of them (the notifier's queue, mostly)
	}
	var err error
	out, br.ends, err = br.appendBlock(out, br.ends[:0], data, n, slots, withoutRaw)
	return out, err
}

// at returns where the record of the k-th place of the last read lies
// in out, its records appended from begin on.
func (br *blockReader) at(k, begin int) (start, end int) {
	i := br.index[k]
	start = begin
	if i > 0 {
		start = br.ends[i-1]
	}
	return start, br.ends[i]
}

// splitBlock decompresses a block of n events and returns its records,
// each a part of one new array.
func (ps *parts) splitBlock(data []byte, n int64) ([][]byte, error) {
	br := blockReader{ps: ps}
	out, ends, err := br.appendBlock(nil, nil, data, n, nil, false)
	if err != nil {
		return nil, err
	}
	recs := make([][]byte, len(ends))
	start := 0
	for i, end := range ends {
		recs[i] = out[start:end:end]
		start = end
	}
	return recs, nil
}

// appendBlock decompresses a block of n events (into br.scratch) and
// appends its records end to end to out
// and where each ends in out to ends; with slots (ascending, distinct,
// each below n), only the records at those (appendColumns). A block of
// one event may be as large as the largest record; a block of several
// is bounded by blockMaxRaw, in columns (parts_block.go) or plain.
// withoutRaw leaves raw out of a block in columns
// (columnReader.withoutRaw); a plain block's records are copied as they
// are.
func (br *blockReader) appendBlock(out []byte, ends []int, data []byte, n int64, slots []int, withoutRaw bool) ([]byte, []int, error) {
	ps, scratch := br.ps, br.scratch
	defer func() { br.scratch = scratch }()
	first := len(ends)
	if len(slots) > 0 && int64(slots[len(slots)-1]) >= n {
		return out, ends, fmt.Errorf("%w: slot %d of %d events", errBadBlock, slots[len(slots)-1], n)
	}
	var err error
	if len(data) > 0 && (data[0] == blockColumns || data[0] == blockSplit) {
		frame, apart, split := data[1:], []byte(nil), data[0] == blockSplit
		if split {
			l, k := binary.Uvarint(frame)
			if k <= 0 || uint64(len(frame)-k) < l {
				return out, ends, fmt.Errorf("%w: frame's length", errBadBlock)
			}
			frame, apart = frame[k:k+int(l)], frame[k+int(l):]
		}
		if scratch, err = ps.dec.DecodeAll(frame, scratch[:0]); err != nil {
			return out, ends, fmt.Errorf("%w: %w", errBadBlock, err)
		}
		cols := columnsOf{b: scratch, apart: apart, split: split}
		if slots != nil {
			// The columns say how many records they hold; the records
			// after the last one wanted are not read (appendColumns).
			if count, _, ok := uvarintAt(scratch, 0); ok && count != uint64(n) {
				return out, ends, fmt.Errorf("%w: %d events, not %d", errBadBlock, count, n)
			}
			// The records wanted take about their share of twice the
			// columns' bytes.
			out = slices.Grow(out, 2*len(scratch)/int(n)*len(slots))
			out, ends, err = br.cols.appendBlockColumns(out, ends, cols, slots, blockMaxRaw, withoutRaw)
			return out, ends, err
		}
		// Records written back take about twice the columns' bytes:
		// room made once, not by doubling.
		out = slices.Grow(out, 2*len(scratch))
		if out, ends, err = br.cols.appendBlockColumns(out, ends, cols, nil, blockMaxRaw, withoutRaw); err != nil {
			return out, ends, err
		}
	} else {
		dec := ps.dec
		if n == 1 {
			dec = ps.decOne
		}
		if scratch, err = dec.DecodeAll(data, scratch[:0]); err != nil {
			return out, ends, fmt.Errorf("%w: %w", errBadBlock, err)
		}
		if slots == nil {
			out = slices.Grow(out, len(scratch))
		}
		// Every record is walked (a length each), those of slots copied.
		count, next := 0, 0
		for raw := scratch; len(raw) > 0; count++ {
			l, k := binary.Uvarint(raw)
			if k <= 0 || uint64(len(raw)-k) < l {
				return out, ends, errBadBlock
			}
			if slots == nil || (next < len(slots) && slots[next] == count) {
				out = append(out, raw[k:k+int(l)]...)
				ends = append(ends, len(out))
				next++
			}
			raw = raw[k+int(l):]
		}
		if int64(count) != n {
			return out, ends, fmt.Errorf("%w: %d events, not %d", errBadBlock, count, n)
		}
		return out, ends, nil
	}
	if got := int64(len(ends) - first); got != n {
		return out, ends, fmt.Errorf("%w: %d events, not %d", errBadBlock, got, n)
	}
	return out, ends, nil
}

// eachByID runs sel (a SELECT of one table, whose id its rows are read
// by) for ids, sorted and distinct unless dense is 0, calling fn for
// each row in id order: in one range scan (BETWEEN) when ids are at
// least 1/dense of the ids from the first to the last, which returns
// rows not asked for too; else by lists of idsPerQuery ids (IN).
func (ps *parts) eachByID(ctx context.Context, sel string, ids []int64, dense int64, fn func(*sql.Rows) error) error {
	if len(ids) == 0 {
		return nil
	}
	if first, last := ids[0], ids[len(ids)-1]; dense > 0 && last-first+1 <= dense*int64(len(ids)) {
		return sqlkit.Each(ctx, ps.s.read, sel+` WHERE id BETWEEN ? AND ? ORDER BY id`, []any{first, last}, fn)
	}
	for start := 0; start < len(ids); start += idsPerQuery {
		chunk := ids[start:min(start+idsPerQuery, len(ids))]
		if err := sqlkit.Each(ctx, ps.s.read, sel+` WHERE id IN (`+placeholders(len(chunk))+`) ORDER BY id`, int64Args(chunk), fn); err != nil {
			return err
		}
	}
	return nil
}

// decodeStored decodes a record into a stored event, Seq set to id.
func decodeStored(id int64, r partRecord) (store.StoredEvent, error) {
	e, err := event.DecodeRecord(r.record)
	if err != nil {
		return store.StoredEvent{}, fmt.Errorf("event %d: %w", id, err)
	}
	return store.StoredEvent{Hash: e.Hash(), Stored: time.UnixMicro(r.stored).UTC(), Event: e, Seq: id}, nil
}

// eventsByID returns the stored events of ids by id, Seq set: what the
// notifier and the readers of events by id need, each block decoded once.
func (ps *parts) eventsByID(ctx context.Context, ids []int64) (map[int64]store.StoredEvent, error) {
	recs, err := ps.recordsFresh(ctx, ids)
	if err != nil {
		return nil, err
	}
	return decodeAllStored(recs)
}

// decodeAllStored decodes records into stored events by id, Seq set.
func decodeAllStored(recs map[int64]partRecord) (map[int64]store.StoredEvent, error) {
	out := make(map[int64]store.StoredEvent, len(recs))
	for id, r := range recs {
		se, err := decodeStored(id, r)
		if err != nil {
			return nil, err
		}
		out[id] = se
	}
	return out, nil
}

// findHashes returns the stored events of hashes, by hash, Seq set to
// their ids, in the partitions that may hold an id from from on (every
// one when from is 0). The unsealed partitions answer from their map of
// hashes in memory, the sealed ones from their Bloom filter and, only on
// a hit, their runs of hashes (hashCands; before layout version 6 their
// index of h8, hashQuery); every candidate is read at the location
// these gave (recordsAt), decoded and its whole hash compared. A covered sealed partition (parts_hashset.go)
// is asked only for a hash the duplicate check's set names it for (a
// layer that holds its hashes admits the hash and the partition's tags
// match), whatever from (the set holds all of them), and then through
// its runs of hashes, not its filter: a hash stored nowhere costs the
// set's few cache lines and the partitions not covered, whatever the
// number of covered ones.
// With org, only the candidates the index of events by organisation lists
// under org are decoded: another organisation's event, in a damaged block
// say, is not found rather than an error.
func (ps *parts) findHashes(ctx context.Context, hashes []event.Hash, org string, from int64) (map[event.Hash]store.StoredEvent, error) {
	// A candidate is found with its place: its events' records are read
	// without locating them again (a sealed partition's chunk, which the
	// candidate's time came from, decompressed a second time).
	type cand struct {
		p           *partition
		id, ts, loc int64
	}
	var (
		all      []cand
		bySealed = map[*partition][]int64{}
		key      [8]byte
		// own are the partitions asked for every hash, covered those asked
		// for the hashes set admits.
		own, covered []*partition
	)
	set := ps.hashSet.Load()
	ps.mu.RLock()
	list := ps.list
	if from > 0 {
		list = list[max(partitionIndex(list, from), 0):]
	}
	for _, p := range list {
		if p.sealed && p.covered && set != nil {
			covered = append(covered, p)
		} else {
			own = append(own, p)
		}
	}
	ask := func(p *partition, k uint64) {
		switch {
		case !p.sealed:
			// every event of the prefix when it is shared
			p.hot.byHash(k, func(r *hotRow) { all = append(all, cand{p, r.id, r.ts, r.loc()}) })
		case p.sum.hashes.has(key[:]):
			bySealed[p] = append(bySealed[p], int64(k))
		}
	}
	// A hash a layer of the set admits asks the covered partitions of
	// that layer its tags name, each once (asked: the index of the hash
	// last asked of it, plus one), without their filters.
	var (
		byNumber map[int64]*partition
		asked    map[*partition]int
		k        uint64
		at       int
	)
	admitted := func(parts []int64) bool {
		if byNumber == nil {
			byNumber = make(map[int64]*partition, len(covered))
			for _, p := range covered {
				byNumber[p.n] = p
			}
			asked = map[*partition]int{}
		}
		for _, n := range parts {
			if p := byNumber[n]; p != nil && asked[p] != at {
				asked[p] = at
				bySealed[p] = append(bySealed[p], int64(k))
			}
		}
		return true
	}
	for i, h := range hashes {
		k, at = hashKey(h), i+1
		binary.BigEndian.PutUint64(key[:], k)
		for _, p := range own {
			ask(p, k)
		}
		if len(covered) > 0 {
			set.Admit(k, admitted)
		}
	}
	ps.mu.RUnlock()
	// A partition sealed as layout version 6 is asked through its runs of
	// hashes (hashCands); an earlier one's each hash by its h4 (h8 >> 32),
	// which reads the index of a partition sealed in layout version 3 to
	// 5, and its h8, that of an earlier one.
	for p, keys := range bySealed {
		if p.sealedAs >= hashesVersion {
			err := ps.hashCands(ctx, p, keys, func(id, ts, loc int64) { all = append(all, cand{p, id, ts + p.base, loc}) })
			if err != nil {
				return nil, fmt.Errorf("partition %d: %w", p.n, err)
			}
			continue
		}
		for start := 0; start < len(keys); start += idsPerQuery {
			chunk := keys[start:min(start+idsPerQuery, len(keys))]
			args := make([]any, 0, 2*len(chunk))
			for _, h8 := range chunk {
				args = append(args, h8>>32)
			}
			for _, h8 := range chunk {
				args = append(args, h8)
			}
			err := sqlkit.Each(ctx, ps.s.read, hashQuery(p.table, len(chunk)), args,
				func(rows *sql.Rows) error {
					c := cand{p: p}
					err := rows.Scan(&c.id, &c.ts, &c.loc)
					c.ts += p.base
					all = append(all, c)
					return err
				})
			if err != nil {
				return nil, fmt.Errorf("partition %d: %w", p.n, err)
			}
		}
	}
	byBlock := map[*partition]map[int64][]wantedSlot{}
	cands := 0
	for _, c := range all {
		if org != "" {
			var n int
			err := ps.s.read.QueryRowContext(ctx, `SELECT count(*) FROM event_orgs WHERE org = ? AND time_source = ? AND event_id = ?`,
				org, c.ts, c.id).Scan(&n)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				continue
			}
		}
		if byBlock[c.p] == nil {
			byBlock[c.p] = map[int64][]wantedSlot{}
		}
		byBlock[c.p][c.loc>>8] = append(byBlock[c.p][c.loc>>8], wantedSlot{c.id, int(c.loc & 0xff)})
		cands++
	}
	out := map[event.Hash]store.StoredEvent{}
	if cands == 0 {
		return out, nil
	}
	recs, err := ps.recordsAt(ctx, byBlock)
	if err != nil {
		return nil, err
	}
	found, err := decodeAllStored(recs)
	if err != nil {
		return nil, err
	}
	wanted := make(map[event.Hash]bool, len(hashes))
	for _, h := range hashes {
		wanted[h] = true
	}
	for _, se := range found {
		if wanted[se.Hash] {
			out[se.Hash] = se
		}
	}
	return out, nil
}

// hashQuery returns the query of the ids, times and locations of a
// sealed partition's events of n hashes, given their h4 (h8 >> 32) and
// then their h8.
func hashQuery(t string, n int) string {
	return `SELECT id, ts, loc FROM ` + t + ` WHERE h8 >> 32 IN (` + placeholders(n) + `) AND h8 IN (` + placeholders(n) + `)`
}

// idsByHash returns the ids of the stored events of hashes.
func (ps *parts) idsByHash(ctx context.Context, hashes []event.Hash) (map[event.Hash]int64, error) {
	if err := ps.refresh(ctx); err != nil {
		return nil, err
	}
	return ps.lookupHashes(ctx, hashes, 0)
}

// lookupHashes is idsByHash on the memory as it is (the writer refreshes
// it itself), in the partitions that may hold an id from from on (all
// with 0: findHashes).
func (ps *parts) lookupHashes(ctx context.Context, hashes []event.Hash, from int64) (map[event.Hash]int64, error) {
	found, err := ps.findHashes(ctx, hashes, "", from)
	if err != nil {
		return nil, err
	}
	out := make(map[event.Hash]int64, len(found))
	for h, se := range found {
		out[h] = se.Seq
	}
	return out, nil
}

// getEvent is GetEvent; with org, only an event the index of events by
// organisation lists under org.
func (ps *parts) getEvent(ctx context.Context, hash event.Hash, org string) (store.StoredEvent, error) {
	if err := ps.refresh(ctx); err != nil {
		return store.StoredEvent{}, err
	}
	found, err := ps.findHashes(ctx, []event.Hash{hash}, org, 0)
	if err != nil {
		return store.StoredEvent{}, err
	}
	se, ok := found[hash]
	if !ok {
		return store.StoredEvent{}, store.ErrNotFound
	}
	se.Seq = 0
	return se, nil
}

// count is CountEvents.
func (ps *parts) count(ctx context.Context) (int64, error) {
	if err := ps.refresh(ctx); err != nil {
		return 0, err
	}
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	var n int64
	for _, p := range ps.list {
		n += p.sum.count
	}
	return n, nil
}

// eventsAfter is EventsAfter: ids are given in the order batches commit,
// and an unsealed partition's copy in memory takes a batch's rows only
// once committed, so no id is skipped.
func (ps *parts) eventsAfter(ctx context.Context, after int64, limit int) ([]store.StoredEvent, error) {
	if err := ps.refresh(ctx); err != nil {
		return nil, err
	}
	var ids []int64
	ps.mu.RLock()
	list := slices.Clone(ps.list)
	type hot struct {
		i    int
		rows hotSnap
	}
	var hots []hot
	for i, p := range list {
		if !p.sealed {
			hots = append(hots, hot{i, p.hot.snap()})
		}
	}
	ps.mu.RUnlock()
	for i, p := range list {
		if len(ids) >= limit {
			break
		}
		if i+1 < len(list) && list[i+1].firstID <= after+1 {
			continue // every id of p is at most after
		}
		if j := slices.IndexFunc(hots, func(h hot) bool { return h.i == i }); j >= 0 {
			rows := &hots[j].rows
			for k := rows.find(after + 1); k < rows.n && len(ids) < limit; k++ {
				ids = append(ids, rows.row(k).id)
			}
			rows.done()
			continue
		}
		more, err := ps.sealedIDs(ctx, p, after, limit-len(ids))
		if err != nil {
			return nil, err
		}
		ids = append(ids, more...)
	}
	return ps.inOrder(ctx, ids)
}

// inOrder reads the events of ids, in that order, each with its Seq. A
// row without its record is an error: skipping it would move a follower
// (EventsAfter) past the event for good, and leave a hole in a page.
func (ps *parts) inOrder(ctx context.Context, ids []int64) ([]store.StoredEvent, error) {
	found, err := ps.eventsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]store.StoredEvent, 0, len(ids))
	for _, id := range ids {
		se, ok := found[id]
		if !ok {
			return nil, fmt.Errorf("event %d vanished", id)
		}
		out = append(out, se)
	}
	return out, nil
}

func placeholders(n int) string { return "?" + strings.Repeat(", ?", n-1) }

func int64Args(list []int64) []any {
	out := make([]any, len(list))
	for i, v := range list {
		out[i] = v
	}
	return out
}
