package notify

// Reading an organisation's queue: from the store page by page, or from
// what the pass read of the whole queue at once.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// eachPending calls fn for every pending notification of o after seq: from
// what the pass read for it, or else from the store.
func (p *pass) eachPending(ctx context.Context, o *orgWork, after int64, fn func(store.PendingNotification)) error {
	if o.bulk {
		q := o.queued
		// The organisation's events are decoded into shared arrays: they
		// are used together and let go together, after its turn.
		arena := event.NewRecordArena(q.records, q.held, q.held*fieldsPerEvent)
		start := 0 // where record i starts
		for i, seq := range q.seq {
			end := q.ends[i]
			if seq <= after {
				start = max(start, end)
				continue
			}
			pn := store.PendingNotification{Seq: seq, Org: o.org, Hash: q.hash[i], Stored: time.UnixMicro(q.stored[i]).UTC()}
			if end >= 0 {
				e, err := arena.Decode(start, end)
				if err != nil {
					return fmt.Errorf("pending notifications of %s: event %d: %w", o.org, seq, err)
				}
				if pn.Hash == (event.Hash{}) {
					// Not kept by the store beside the record: the
					// stored event's, before what is withheld goes.
					pn.Hash = e.Hash()
				}
				store.WithoutWithheld(e)
				pn.Event = e
				start = end
			}
			fn(pn)
		}
		o.queued = nil
		return nil
	}
	for {
		page, err := p.n.store.ListPendingNotifications(ctx, o.org, after, pendingPage)
		if err != nil {
			return fmt.Errorf("pending notifications of %s: %w", o.org, err)
		}
		for _, pn := range page {
			fn(pn)
			after = pn.Seq
		}
		if len(page) < pendingPage {
			return nil
		}
	}
}

// fieldsPerEvent is the room made for the fields of each event decoded
// from the queue read at once: a scan's report has about this many.
const fieldsPerEvent = 16

// readAtOnceMax bounds how many pending events a pass reads at once: the
// queue read at once is held in memory until each organisation's turn,
// about 1.4 KB an event at peak. A larger queue is read organisation by
// organisation, slower but in bounded memory. (A variable for tests.)
var readAtOnceMax int64 = 2_000_000

// dense reports whether the pending events are at least a quarter of the
// events stored between the first and the last of them, and at most
// readAtOnceMax: then one scan of that stretch (readQueue) is cheaper
// than looking each up.
func dense(pending []store.PendingCount) bool {
	var total, first, last int64
	for i, c := range pending {
		total += c.Count
		if i == 0 || c.First < first {
			first = c.First
		}
		last = max(last, c.Last)
	}
	return total > 0 && total <= readAtOnceMax && total*4 >= last-first+1
}

// orgQueue is one organisation's queue as a pass read it at once, in
// columns: the records of its events lie end to end in one array, so
// that the million records of a morning's queue are a few thousand
// objects without pointers, which the garbage collector does not scan,
// instead of a million it must follow (each its own allocation, held
// until the organisation's turn).
type orgQueue struct {
	seq    []int64
	hash   []event.Hash
	stored []int64 // Unix microseconds
	// ends[i] is where record i ends in records, -1 when its event is
	// gone (it starts where the one before it ends).
	ends    []int
	records []byte
	// held is how many records are in records.
	held int
}

// len is how many entries q holds.
func (q *orgQueue) len() int {
	if q == nil {
		return 0
	}
	return len(q.seq)
}

// add appends entry i of page, copying its record.
func (q *orgQueue) add(page *store.PendingPage, i int) {
	q.seq = append(q.seq, page.Seq[i])
	q.hash = append(q.hash, page.Hash[i])
	q.stored = append(q.stored, page.Stored[i])
	end := -1
	if record := page.Record(i); record != nil {
		if cap(q.records)-len(q.records) < len(record) {
			q.records = slices.Grow(q.records, q.room(len(record)))
		}
		q.records = append(q.records, record...)
		q.held++
		end = len(q.records)
	}
	q.ends = append(q.ends, end)
}

// minRoom is the least room a growing records array reserves beyond
// the record being added.
const minRoom = 16 << 10

// room is how many bytes to reserve when a record of size does not fit:
// the entries still to come at the average size of the records so far
// (one allocation for most organisations), but never more than the
// array holds already (or minRoom), so that an organisation whose first
// record is large (a mail report's raw) and whose others are small does
// not reserve the large size for every entry it expects: what is
// reserved and unused stays below what is used, plus minRoom.
func (q *orgQueue) room(size int) int {
	avg := (len(q.records) + size) / (q.held + 1)
	want := avg * (cap(q.seq) - len(q.seq) + 1)
	return max(size, min(want, max(cap(q.records), minRoom)))
}

// readQueue reads the whole queue at once, by organisation in the order of
// pending.
func (n *Notifier) readQueue(ctx context.Context, pending []store.PendingCount) ([]*orgQueue, error) {
	index := make(map[string]int, len(pending))
	out := make([]*orgQueue, len(pending))
	for i, c := range pending {
		index[c.Org] = i
		out[i] = &orgQueue{
			seq:    make([]int64, 0, c.Count),
			hash:   make([]event.Hash, 0, c.Count),
			stored: make([]int64, 0, c.Count),
			ends:   make([]int, 0, c.Count),
		}
	}
	// slot is the index in out of each organisation of the pages' Orgs,
	// -1 for one queued since PendingNotificationOrgs, which is left for
	// the next pass; looked up once for every organisation, not once for
	// every entry.
	var slot []int
	err := n.store.ScanPendingNotifications(ctx, func(page *store.PendingPage) error {
		for _, org := range page.Orgs[len(slot):] {
			i, ok := index[org]
			if !ok {
				i = -1
			}
			slot = append(slot, i)
		}
		for i := range page.Len() {
			for _, org := range page.OrgsOf(i) {
				if k := slot[org]; k >= 0 {
					out[k].add(page, i)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notify: read the queue: %w", err)
	}
	return out, nil
}
