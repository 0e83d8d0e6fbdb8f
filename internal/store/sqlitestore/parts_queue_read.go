package sqlitestore

// Reading the notification queue's events in the parts layout: an
// organisation's page (ListPendingNotifications) and the whole queue a
// block at a time (ScanPendingNotifications' segmentScan).

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// listPending is ListPendingNotifications.
func (ps *parts) listPending(ctx context.Context, org string, afterSeq int64, limit int) ([]store.PendingNotification, error) {
	if err := ps.refresh(ctx); err != nil {
		return nil, err
	}
	st, err := ps.s.readStmt(ctx, `SELECT event_id, stored FROM notify_queue WHERE org = ? AND event_id > ? ORDER BY event_id LIMIT ?`)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, org, afterSeq, store.PageLimit(limit))
	if err != nil {
		return nil, err
	}
	out, err := sqlkit.Collect(rows, func(rows *sql.Rows) (store.PendingNotification, error) {
		p := store.PendingNotification{Org: org}
		var stored int64
		err := rows.Scan(&p.Seq, &stored)
		p.Stored = time.UnixMicro(stored).UTC()
		return p, err
	})
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(out))
	for i := range out {
		ids[i] = out[i].Seq
	}
	found, err := ps.eventsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if se, ok := found[out[i].Seq]; ok {
			out[i].Hash, out[i].Event = se.Hash, se.Event
			store.WithoutWithheld(out[i].Event)
		}
	}
	return out, nil
}

// segmentScan is scanEvents of the parts layout: the records of entries
// (sorted by id), a chunk of ids at a time, each block decoded once; the
// records are handed over undecoded and without their hashes (see
// store.PendingPage). Its reader's buffers serve every call.
func (ps *parts) segmentScan(orgs []string) segmentScan {
	r := &queueReader{ps: ps}
	return func(ctx context.Context, entries []queuedEntry, first *store.PendingPage, sink pageSink) error {
		return ps.scanEvents(ctx, r, orgs, entries, first, sink)
	}
}

// scanEvents reads entries with r for segmentScan.
func (ps *parts) scanEvents(ctx context.Context, r *queueReader, orgs []string, entries []queuedEntry, first *store.PendingPage, sink pageSink) error {
	if err := ps.refresh(ctx); err != nil {
		return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
	}
	const chunk = 4096
	pager := newQueuePager(orgs, entries, first, sink)
	var ids []int64
	for i := 0; i < len(entries); {
		ids = ids[:0]
		j := i
		for ; j < len(entries) && len(ids) < chunk; j++ {
			if len(ids) == 0 || ids[len(ids)-1] != entries[j].id {
				ids = append(ids, entries[j].id)
			}
		}
		for j < len(entries) && entries[j].id == entries[j-1].id {
			j++
		}
		found, err := r.read(ctx, ids)
		if err != nil {
			return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
		}
		for k, id := range ids {
			f := found[k]
			if !f.ok {
				continue // gone: the pager adds it so
			}
			// Without its hash, which a partition does not keep whole:
			// the reader decodes the record and computes it.
			if err := pager.add(id, event.Hash{}, f.stored, r.out[f.start:f.end:f.end]); err != nil {
				return err
			}
		}
		i = j
	}
	return pager.finish()
}

// queueReader reads the records of runs of ids for scanEvents: each
// partition's rows of a run in one range scan when the run is dense (the
// queue of a morning is most of the events stored since the last pass),
// each block decoded once, into buffers reused from one run to the next
// (a pass reads some four thousand blocks).
type queueReader struct {
	ps *parts
	// out holds the run's records end to end; blocks reads them, wanted
	// the places of a block as it reads them.
	out    []byte
	blocks blockReader
	wanted []wantedSlot
	found  []foundRecord
	places []recordPlace
}

// foundRecord is where an id's record lies in queueReader.out.
type foundRecord struct {
	start, end int
	stored     int64
	ok         bool
}

// recordPlace is where an id of the run lies: its partition, block and
// slot.
type recordPlace struct {
	p     *partition
	block int64
	slot  int
	at    int // in ids
}

// read returns, by index in ids (sorted, distinct), where each id's
// record lies in r.out; ok is false for an id not stored. What it
// returns is valid until the next read.
func (r *queueReader) read(ctx context.Context, ids []int64) ([]foundRecord, error) {
	r.out, r.places = r.out[:0], r.places[:0]
	r.found = slices.Grow(r.found[:0], len(ids))[:len(ids)]
	clear(r.found)
	ps := r.ps
	// The partitions' runs of ids: the unsealed ones answer from memory,
	// the sealed ones below.
	type run struct {
		p    *partition
		i, j int // ids[i:j]
	}
	var sealed []run
	ps.mu.RLock()
	for i := 0; i < len(ids); {
		k := partitionIndex(ps.list, ids[i])
		j := i + 1
		if k < 0 {
			for j < len(ids) && partitionIndex(ps.list, ids[j]) < 0 {
				j++
			}
			i = j
			continue
		}
		p := ps.list[k]
		// ids[j] is beyond p when the next partition starts at or before it.
		next := int64(math.MaxInt64)
		if k+1 < len(ps.list) {
			next = ps.list[k+1].firstID
		}
		for j < len(ids) && ids[j] < next {
			j++
		}
		if p.sealed {
			sealed = append(sealed, run{p, i, j})
			i = j
			continue
		}
		hot := p.hot.snap()
		for k, at := hot.find(ids[i]), i; k < hot.n && at < j; {
			row := hot.row(k)
			switch {
			case row.id < ids[at]:
				k++
			case row.id > ids[at]:
				at++
			default:
				loc := row.loc()
				r.places = append(r.places, recordPlace{p, loc >> 8, int(loc & 0xff), at})
				k++
				at++
			}
		}
		hot.done()
		i = j
	}
	ps.mu.RUnlock()
	for _, sr := range sealed {
		if err := r.locate(ctx, sr.p, ids, sr.i, sr.j); err != nil {
			return nil, err
		}
	}
	if err := r.readBlocks(ctx); err != nil {
		return nil, err
	}
	// Asked again, after a refresh, when not found: another process may
	// have stored it since the memory was last caught up (recordsFresh).
	var missing []int64
	for k, f := range r.found {
		if !f.ok {
			missing = append(missing, ids[k])
		}
	}
	if len(missing) == 0 {
		return r.found, nil
	}
	ps.queueAskedAgain.Add(int64(len(missing)))
	// The read above asked already: the memory is caught up and asked
	// once more (recordsFresh would ask first again).
	if err := ps.refresh(ctx); err != nil {
		return nil, err
	}
	more, err := ps.records(ctx, missing)
	if err != nil {
		return nil, err
	}
	for k, id := range ids {
		if rec, ok := more[id]; ok && !r.found[k].ok {
			start := len(r.out)
			r.out = append(r.out, rec.record...)
			r.found[k] = foundRecord{start: start, end: len(r.out), stored: rec.stored, ok: true}
		}
	}
	return r.found, nil
}

// locate adds the places of ids[i:j], all in the sealed partition p:
// from one range scan of its rows when they are at least a quarter of
// the rows between the first and the last, else by lists of ids.
func (r *queueReader) locate(ctx context.Context, p *partition, ids []int64, i, j int) error {
	at := i
	add := func(id, loc int64) error {
		for at < j && ids[at] < id {
			at++
		}
		if at < j && ids[at] == id {
			r.places = append(r.places, recordPlace{p, loc >> 8, int(loc & 0xff), at})
			at++
		}
		return nil
	}
	if err := r.ps.sealedLocs(ctx, p, ids[i:j], 4, add); err != nil {
		return fmt.Errorf("partition %d: %w", p.n, err)
	}
	return nil
}

// readBlocks reads the blocks of r.places, each once, and fills r.found.
func (r *queueReader) readBlocks(ctx context.Context) error {
	// By partition and block, in the order of the places (which is by id,
	// so by partition and mostly by block).
	slices.SortStableFunc(r.places, func(a, b recordPlace) int {
		if a.p != b.p {
			return cmp.Compare(a.p.n, b.p.n)
		}
		return cmp.Compare(a.block, b.block)
	})
	for i := 0; i < len(r.places); {
		p := r.places[i].p
		j := i + 1
		for j < len(r.places) && r.places[j].p == p {
			j++
		}
		if err := r.partitionBlocks(ctx, p, r.places[i:j]); err != nil {
			return fmt.Errorf("partition %d: %w", p.n, err)
		}
		i = j
	}
	return nil
}

// partitionBlocks reads the blocks of places (of p, sorted by block):
// in one range scan when they are at least half the blocks between the
// first and the last, else by lists of ids.
func (r *queueReader) partitionBlocks(ctx context.Context, p *partition, places []recordPlace) error {
	var blocks []int64
	for _, pl := range places {
		if len(blocks) == 0 || blocks[len(blocks)-1] != pl.block {
			blocks = append(blocks, pl.block)
		}
	}
	at := 0 // in places
	add := func(rows *sql.Rows) error {
		var (
			block, stored, n int64
			data             sql.RawBytes
		)
		if err := rows.Scan(&block, &stored, &n, &data); err != nil {
			return err
		}
		for at < len(places) && places[at].block < block {
			at++
		}
		if at == len(places) || places[at].block != block {
			return nil // not asked for
		}
		end := at
		r.wanted = r.wanted[:0]
		for ; end < len(places) && places[end].block == block; end++ {
			if pl := places[end]; int64(pl.slot) >= n {
				return fmt.Errorf("block %d: slot %d of %d: %w", block, pl.slot, n, errBadBlock)
			}
			r.wanted = append(r.wanted, wantedSlot{slot: places[end].slot})
		}
		begin, err := r.decodeBlock(data, n)
		if err != nil {
			return fmt.Errorf("block %d: %w", block, err)
		}
		for k, pl := range places[at:end] {
			from, to := r.blocks.at(k, begin)
			r.found[pl.at] = foundRecord{start: from, end: to, stored: stored, ok: true}
		}
		at = end
		return nil
	}
	return r.ps.eachByID(ctx, `SELECT id, stored, n, data FROM `+p.table+`_blocks`, blocks, 2, add)
}

// decodeBlock decompresses a block of n events and appends the records
// of r.wanted to r.out (blockReader.read, without raw: the notifier never
// shows it); it returns where the first starts.
func (r *queueReader) decodeBlock(data []byte, n int64) (int, error) {
	begin := len(r.out)
	r.blocks.ps = r.ps
	var err error
	r.out, err = r.blocks.read(r.out, data, n, r.wanted, true)
	if cap(r.blocks.scratch) > blockMaxRaw {
		r.blocks.scratch = nil // a block of one large event: not kept
	}
	return begin, err
}
