package sqlitestore

// Reading a morning's queue at once, the parts layout: the events of the
// span the notifier expects are decoded while the queue's rows are read,
// instead of after.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

const (
	// prefetchChunk is how many consecutive ids are decoded at a time,
	// and so the most events of a page the prefetch hands over.
	prefetchChunk = 4096
	// prefetchMaxIDs bounds the span decoded ahead: its records are held
	// until the queue's rows are read, those of events no organisation
	// waits for among them. A wider span is read as the queue names it.
	// (A variable for tests.)
	prefetchMaxIDs int64 = 2_000_000
)

// prefetch decodes the records of a span of ids, in chunks of
// prefetchChunk consecutive ids, on two goroutines (the span's halves),
// while the caller reads the queue's rows: the queue of a morning is most
// of the events stored since the last pass, so they are read before the
// queue says which, on the core the row reading leaves free.
type prefetch struct {
	ps     *parts
	span   store.SeqSpan
	cancel context.CancelFunc
	wg     sync.WaitGroup
	halves [2]prefetchHalf
}

// prefetchHalf is what one goroutine decoded: chunks in id order, chunk
// k of the span in the first half's or the second's.
type prefetchHalf struct {
	chunks []decodedChunk
	err    error
}

// decodedChunk holds the records of the ids from first on, a chunk of
// them: found[id-first] says where id's record lies in out.
type decodedChunk struct {
	first int64
	out   []byte
	found []foundRecord
}

// startPrefetch starts decoding span's events; stop ends it.
func (ps *parts) startPrefetch(ctx context.Context, span store.SeqSpan) *prefetch {
	ctx, cancel := context.WithCancel(ctx)
	pf := &prefetch{ps: ps, span: span, cancel: cancel}
	chunks := (span.Last-span.First)/prefetchChunk + 1
	mid := span.First + (chunks+1)/2*prefetchChunk // on a chunk's start
	for i, bounds := range [2][2]int64{{span.First, min(mid-1, span.Last)}, {mid, span.Last}} {
		if bounds[0] > bounds[1] {
			continue
		}
		pf.wg.Add(1)
		go func() {
			defer pf.wg.Done()
			pf.halves[i].chunks, pf.halves[i].err = ps.decodeSpan(ctx, bounds[0], bounds[1])
		}()
	}
	return pf
}

// stop ends the goroutines and waits for them.
func (pf *prefetch) stop() {
	pf.cancel()
	pf.wg.Wait()
}

// decodeSpan decodes the records of the ids from first to last, a chunk
// at a time; each chunk keeps the buffer it was decoded into.
func (ps *parts) decodeSpan(ctx context.Context, first, last int64) ([]decodedChunk, error) {
	if err := ps.refresh(ctx); err != nil {
		return nil, err
	}
	r := queueReader{ps: ps}
	var (
		out  []decodedChunk
		ids  []int64
		room int // the size of the last chunk's records: the next's is alike
	)
	for at := first; at <= last; at += prefetchChunk {
		ids = ids[:0]
		for id := at; id <= min(at+prefetchChunk-1, last); id++ {
			ids = append(ids, id)
		}
		r.out = make([]byte, 0, room+room/8)
		if err := r.readStored(ctx, ids); err != nil {
			return nil, err
		}
		room = len(r.out)
		out = append(out, decodedChunk{first: at, out: r.out, found: slices.Clone(r.found)})
	}
	return out, nil
}

// hand hands fn the queued events of entries (sorted by id): those
// below and above the span read as scanEvents reads them, those in it
// from the chunks decoded, a page a chunk whose records are the chunk's
// buffer (RecordStarts), Kept. An event queued in the span but not found
// there is asked for again (another process may have stored it since
// the memory was caught up), else handed over as gone.
func (pf *prefetch) hand(ctx context.Context, q queryer, orgs []string, entries []queuedEntry, fn func(*store.PendingPage) error) error {
	ps := pf.ps
	sink := func(p *store.PendingPage) (*store.PendingPage, error) {
		p.Kept = true
		if err := fn(p); err != nil {
			return nil, err
		}
		return p.Sized(), nil
	}
	byID := func(e queuedEntry, id int64) int { return cmp.Compare(e.id, id) }
	lo, _ := slices.BinarySearchFunc(entries, pf.span.First, byID)
	hi, _ := slices.BinarySearchFunc(entries, pf.span.Last+1, byID)
	if err := ps.scanEvents(ctx, q, orgs, entries[:lo], sink); err != nil {
		return err
	}
	pf.wg.Wait()
	var chunks []decodedChunk
	for _, h := range pf.halves {
		if h.err != nil {
			return fmt.Errorf("sqlitestore: scan pending notifications: %w", h.err)
		}
		chunks = append(chunks, h.chunks...)
	}
	var waiting []int32
	for i := lo; i < hi; {
		c := &chunks[(entries[i].id-pf.span.First)/prefetchChunk]
		end := c.first + int64(len(c.found)) // the chunk's ids end before
		j := i
		for j < hi && entries[j].id < end {
			j++
		}
		// Those queued and not found, asked again at once.
		var missing []int64
		for k := i; k < j; k++ {
			id := entries[k].id
			if !c.found[id-c.first].ok && (len(missing) == 0 || missing[len(missing)-1] != id) {
				missing = append(missing, id)
			}
		}
		var more map[int64]partRecord
		if len(missing) > 0 {
			var err error
			if more, err = ps.askAgain(ctx, missing); err != nil {
				return fmt.Errorf("sqlitestore: scan pending notifications: %w", err)
			}
		}
		page := &store.PendingPage{Orgs: orgs, Records: c.out, Kept: true}
		for k := i; k < j; {
			id := entries[k].id
			waiting = waiting[:0]
			for ; k < j && entries[k].id == id; k++ {
				waiting = append(waiting, entries[k].org)
			}
			f := c.found[id-c.first]
			if !f.ok {
				if rec, ok := more[id]; ok {
					f = foundRecord{start: len(page.Records), stored: rec.stored, ok: true}
					page.Records = append(page.Records, rec.record...)
					f.end = len(page.Records)
				}
			}
			page.AddAt(id, event.Hash{}, f.stored, f.start, f.end, !f.ok, waiting...)
		}
		c.out = nil // the page's now
		if err := fn(page); err != nil {
			return err
		}
		i = j
	}
	return ps.scanEvents(ctx, q, orgs, entries[hi:], sink)
}
