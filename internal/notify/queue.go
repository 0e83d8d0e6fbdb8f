package notify

// Reading an organisation's queue: from the store page by page, or from
// what the pass read of the whole queue at once.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// eachPending calls fn for every pending notification of o after seq: from
// what the pass read for it, or else from the store.
func (p *pass) eachPending(ctx context.Context, o *orgWork, after int64, fn func(store.PendingNotification)) error {
	if o.bulk {
		q := o.queued
		// The organisation's events are decoded into shared arrays: they
		// are used together and let go together, after its turn. Their
		// keys and values are parts of the pass's copy of the queue.
		// (In the worker's arena when it has one, which the events of the
		// organisation before used; one that would hold more than
		// maxReusedEvents is not kept for the next.)
		var arena *event.RecordArena
		switch {
		case q.held > maxReusedEvents:
			arena = event.NewRecordArena(nil, q.held, q.held*fieldsPerEvent)
		case o.arena == nil:
			arena = event.NewRecordArena(nil, q.held, q.held*fieldsPerEvent)
			o.arena = arena
		default:
			arena = o.arena
			arena.Reuse(nil, q.held, q.held*fieldsPerEvent)
		}
		// Where event_hash and the withheld fields were in the event
		// before (GetNear): an organisation's events have a few shapes.
		nearHash, nearWithheld := 0, make([]int, len(store.NotificationWithheld))
		q.touched ^= touchRecords(p.pages, q.where[:min(touchAhead, len(q.where))])
		for i, seq := range q.seq {
			if i%touchAhead == 0 {
				q.touched ^= touchRecords(p.pages, q.where[min(i+touchAhead, len(q.where)):min(i+2*touchAhead, len(q.where))])
			}
			if seq <= after {
				continue
			}
			pn := store.PendingNotification{Seq: seq, Org: o.org, Hash: q.hashOf(i), Stored: time.UnixMicro(q.stored[i]).UTC()}
			if at := q.where[i]; at.page >= 0 {
				e, err := arena.DecodeString(p.pages[at.page][at.start:at.end])
				if err != nil {
					return fmt.Errorf("pending notifications of %s: event %d: %w", o.org, seq, err)
				}
				if pn.Hash == (event.Hash{}) {
					// Not kept by the store beside the record: the
					// stored event's, before what is withheld goes.
					pn.Hash = e.HashNear(&nearHash)
				}
				for k, name := range store.NotificationWithheld { // store.WithoutWithheld
					e.DeleteNear(name, &nearWithheld[k])
				}
				pn.Event = e
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

// maxReusedEvents bounds the arena a worker keeps from one organisation
// for the next (pass.arenas): some 1.5 MB of events and 8 MB of fields.
const maxReusedEvents = 1 << 14

// readAtOnceMax bounds how many pending events a pass reads at once: the
// queue read at once is held in memory until each organisation's turn
// (bench notify's records and entries: about 350 bytes an event, for
// which the pass makes room, Deps.Room; the process's peak was 762 MiB
// at 1 million under serve's collector settings). A larger queue is read
// organisation by organisation, slower but in bounded memory. (A
// variable for tests.)
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
// columns, its records referred to in the pass's copy of the queue's
// pages (pass.pages, one string a page): the million records of a morning's queue are a few
// hundred strings and a few thousand arrays without pointers, which the
// garbage collector does not scan, instead of a million objects it must
// follow (each its own allocation, held until the organisation's turn),
// and a record is copied at most once, with its page (not at all when
// the store hands the page over Kept), not once more for its
// organisation.
type orgQueue struct {
	seq []int64
	// hash is nil while every hash is zero (store.PendingPage.HashOf).
	hash   []event.Hash
	stored []int64 // Unix microseconds
	where  []recordAt
	// held is how many records are referred to.
	held int
	// touched is what touchRecords read, kept so that its reads are not
	// left out.
	touched byte
}

// touchAhead is how many records eachPending asks the memory for at
// once, before it decodes the ones before them.
const touchAhead = 8

// touchRecords reads a byte of every cache line of the records at,
// and returns them combined: an organisation's records lie apart in the
// queue's copy (it is in the order the events were stored, each page
// holding records of most organisations), so the first read of each
// waits for the memory, one after another, when decoded one at a time
// (a fifth of the CPU decoding took in a morning's pass); read
// together, ahead of their turn, their waits overlap.
func touchRecords(pages []string, at []recordAt) byte {
	var b byte
	for _, a := range at {
		if a.page < 0 {
			continue
		}
		rec := pages[a.page][a.start:a.end]
		for k := 0; k < len(rec); k += 64 {
			b ^= rec[k]
		}
	}
	return b
}

// recordAt is where a record lies in the queue's copy: page, and from
// start to end in it; page is -1 when the event is gone.
type recordAt struct {
	page, start, end int32
}

// hashOf returns entry i's hash, zero when the store kept none.
func (q *orgQueue) hashOf(i int) event.Hash {
	if q.hash == nil {
		return event.Hash{}
	}
	return q.hash[i]
}

// len is how many entries q holds.
func (q *orgQueue) len() int {
	if q == nil {
		return 0
	}
	return len(q.seq)
}

// add appends entry i of page, whose records are the string copy
// numbered n.
func (q *orgQueue) add(page *store.PendingPage, i int, n int32) {
	if h := page.HashOf(i); h != (event.Hash{}) || q.hash != nil {
		if q.hash == nil {
			q.hash = make([]event.Hash, len(q.seq), cap(q.seq)) // the entries before, zero
		}
		q.hash = append(q.hash, h)
	}
	q.seq = append(q.seq, page.Seq[i])
	q.stored = append(q.stored, page.Stored[i])
	at := recordAt{page: -1}
	if start, end, ok := page.RecordSpan(i); ok {
		at = recordAt{page: n, start: int32(start), end: int32(end)}
		q.held++
	}
	q.where = append(q.where, at)
}

// mostlyScanned reports whether earlier passes looked at the whole queue
// of organisations that hold at least half of the pending entries (as
// they do between digests, when those entries wait for one). A mark
// counts only until the organisation's digest falls due: a pass at the
// digest time reads the whole queue, alongside what the pass shares.
func (n *Notifier) mostlyScanned(pending []store.PendingCount, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	var total, scanned int64
	for _, c := range pending {
		total += c.Count
		m, ok := n.scanned[c.Org]
		if ok && m.seq >= c.Last && (m.digest.IsZero() || now.Before(m.digest)) {
			scanned += c.Count
		}
	}
	return scanned*2 >= total
}

// readQueue reads the whole queue at once, by organisation in the order of
// pending: the entries of those for which need is set, or of all when need
// is nil (the others' queues are nil). It returns with them the copy of
// the pages' records their entries refer to.
func (n *Notifier) readQueue(ctx context.Context, pending []store.PendingCount, need []bool, held *heldRoom) ([]*orgQueue, []string, error) {
	r := newQueueRead(pending, need, held)
	err := n.store.ScanPendingNotifications(ctx, r.add)
	return r.done(err)
}

// queueRead is the queue as a pass reads it at once: every
// organisation's entries (out, as pending) and the copy of the records
// they refer to (pages).
type queueRead struct {
	index map[string]int // in out, by handle
	out   []*orgQueue
	held  *heldRoom
	// slot is the index in out of each organisation of the pages' Orgs,
	// -1 for one not in pending (queued since PendingNotificationOrgs),
	// which is left for the next pass; looked up once for every
	// organisation, not once for every entry.
	slot  []int
	pages []string
}

// newQueueRead makes room for the entries of the organisations of pending
// for which need is set (all when need is nil).
func newQueueRead(pending []store.PendingCount, need []bool, held *heldRoom) *queueRead {
	r := &queueRead{index: make(map[string]int, len(pending)), out: make([]*orgQueue, len(pending)), held: held}
	for i, c := range pending {
		if need != nil && !need[i] {
			continue
		}
		held.hold(c.Count * queuedEntryBytes)
		r.index[c.Org] = i
		r.out[i] = &orgQueue{
			seq:    make([]int64, 0, c.Count),
			stored: make([]int64, 0, c.Count),
			where:  make([]recordAt, 0, c.Count),
		}
	}
	return r
}

// add takes a page of ScanPendingNotifications.
func (r *queueRead) add(page *store.PendingPage) error {
	if len(page.Records) > math.MaxInt32 || len(r.pages) == math.MaxInt32 {
		return fmt.Errorf("a page of %d bytes, or more than %d", len(page.Records), math.MaxInt32)
	}
	// The page's records, copied unless the store hands them over for
	// good; then never written to again, they are read as a string.
	records := unsafe.String(unsafe.SliceData(page.Records), len(page.Records))
	if !page.Kept {
		records = string(page.Records)
	}
	r.pages = append(r.pages, records)
	if page.Kept {
		r.held.hold(int64(cap(page.Records)))
	} else {
		r.held.hold(int64(len(records)))
	}
	// What the store read ahead is this pass's too, before it is
	// handed over.
	r.held.expect(page.Ahead)
	copied := int32(len(r.pages) - 1)
	for _, org := range page.Orgs[len(r.slot):] {
		i, ok := r.index[org]
		if !ok {
			i = -1
		}
		r.slot = append(r.slot, i)
	}
	for i := range page.Len() {
		for _, org := range page.OrgsOf(i) {
			if k := r.slot[org]; k >= 0 {
				r.out[k].add(page, i, copied)
			}
		}
	}
	return nil
}

// done returns what was read, or the error err of the scan.
func (r *queueRead) done(err error) ([]*orgQueue, []string, error) {
	r.held.flush()
	if err != nil {
		return nil, nil, fmt.Errorf("notify: read the queue: %w", err)
	}
	return r.out, r.pages, nil
}

// queuedEntryBytes is what an orgQueue holds for each of its events at
// most: the hash only when the store keeps it.
const queuedEntryBytes = int64(unsafe.Sizeof(int64(0))*2 + unsafe.Sizeof(event.Hash{}) + unsafe.Sizeof(recordAt{}))

// heldRoom is the room a pass asked of Deps.Room for what it holds at
// once, asked for in steps as the queue is read and given back when the
// pass ends. Used by one goroutine at a time.
type heldRoom struct {
	ask func(int64) func()
	// held is what the pass holds, asked the room asked for so far.
	held, asked int64
	releases    []func()
}

// roomStep is how much held memory is asked for at a time: the soft
// limit changes a few dozen times in a morning's pass, not once a page.
const roomStep = 16 << 20

// hold counts bytes more as held for the rest of the pass.
func (h *heldRoom) hold(bytes int64) {
	h.held += bytes
	h.expect(0)
}

// expect makes room for what is held and bytes more that the pass is
// about to hold (the store's pages read ahead).
func (h *heldRoom) expect(bytes int64) {
	if h.held+bytes-h.asked >= roomStep {
		h.askFor(h.held + bytes)
	}
}

// flush asks for what is held and not yet asked for.
func (h *heldRoom) flush() { h.askFor(h.held) }

// askFor raises the room asked for to total bytes.
func (h *heldRoom) askFor(total int64) {
	if h.ask == nil || total <= h.asked {
		return
	}
	h.releases = append(h.releases, h.ask(total-h.asked))
	h.asked = total
}

// free gives back all the room asked for.
func (h *heldRoom) free() {
	for _, release := range h.releases {
		release()
	}
	h.releases, h.held, h.asked = nil, 0, 0
}

// queueReading is a read of the whole queue at once on a goroutine of its
// own, beside the pass's other reads. One started at the pass's start
// (readEarly) reads the queue's entries while the pass counts them by
// organisation, and hands its pages over only once the pass has decided
// to read the queue at once (proceed): the entries are the longest part
// of the read that does not need the counts.
type queueReading struct {
	cancel context.CancelFunc
	// setup is where the read's room comes from (newQueueRead), nil when
	// the pass reads the queue otherwise.
	setup chan *queueRead
	// horizonRead is closed once the horizon is read (at once when the
	// read does not read it).
	horizonRead chan struct{}
	done        chan struct{}

	// What the read found, set before done is closed: the horizon (when
	// the read reads it), the queue, and how long reading it took.
	horizon    int64
	horizonErr error
	queued     []*orgQueue
	pages      []string
	err        error
	took       time.Duration
}

// errReadDropped ends a queue's read that the pass does not need.
var errReadDropped = errors.New("notify: the queue is not read at once")

// startReading starts reading the whole queue; with horizon, it reads the
// store's NotifyHorizon first (a pass's marks stay at or below a horizon
// read before the queue). The pages wait for proceed.
func (n *Notifier) startReading(ctx context.Context, horizon bool) *queueReading {
	ctx, cancel := context.WithCancel(ctx)
	r := &queueReading{cancel: cancel, setup: make(chan *queueRead, 1), horizonRead: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		started := time.Now()
		if horizon {
			r.horizon, r.horizonErr = n.store.NotifyHorizon(ctx)
		}
		close(r.horizonRead)
		var (
			q       *queueRead
			decided bool
		)
		decide := func() error {
			if !decided {
				select {
				case q = <-r.setup:
					decided = true
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if q == nil {
				return errReadDropped
			}
			return nil
		}
		err := n.store.ScanPendingNotifications(ctx, func(page *store.PendingPage) error {
			if err := decide(); err != nil {
				return err
			}
			return q.add(page)
		})
		if err == nil {
			err = decide() // a queue without pages: still the pass's decision
		}
		switch {
		case errors.Is(err, errReadDropped):
		case q == nil:
			r.err = fmt.Errorf("notify: read the queue: %w", err)
		default:
			r.queued, r.pages, r.err = q.done(err)
			r.took = time.Since(started)
		}
	}()
	return r
}

// proceed hands the read the room for what it reads (newQueueRead);
// called once, or drop instead.
func (r *queueReading) proceed(q *queueRead) { r.setup <- q }

// drop ends a read the pass does not need once it has read the horizon,
// without waiting for the rest of its reading (the queue's ids; on
// PostgreSQL the whole scan, whose rows would otherwise be read to the
// end), and waits for it.
func (r *queueReading) drop() {
	r.setup <- nil
	<-r.horizonRead
	r.stop()
}

// wait waits for the read to end.
func (r *queueReading) wait() { <-r.done }

// stop ends the read, if any, and waits for it.
func (r *queueReading) stop() {
	if r != nil {
		r.cancel()
		r.wait()
	}
}

// noScanMarks reports whether no organisation's queue counts as looked at
// now (mostlyScanned is false whatever is pending): the pass then reads
// the queue at once if it is large and dense enough, and starts reading
// it before it knows.
func (n *Notifier) noScanMarks(now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.scanned {
		if m.digest.IsZero() || now.Before(m.digest) {
			return false
		}
	}
	return true
}
