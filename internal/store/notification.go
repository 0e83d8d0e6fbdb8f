package store

import (
	"context"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// PendingNotification is a stored event tagged with an organisation and not
// yet handled by the notifier. The store queues one for every organisation
// in an event's extra.constituency when it stores the event. Event is the
// stored event without raw and extra.constituency, which notifications
// never send; an entry whose event is gone (removed by retention while
// queued) comes with a nil Event, and the notifier consumes it.
type PendingNotification struct {
	// Seq is the event's id in the store: the queue's order, and what an
	// outbox message's EventIDs and a notifier commit's Done name.
	Seq    int64
	Org    string
	Hash   event.Hash
	Stored time.Time
	Event  *event.Event
}

// PendingPage is a run of pending events in Seq order, each with the
// organisations it waits for, its event left encoded, as
// ScanPendingNotifications hands them over: in columns, the records end
// to end in one array, so that a million queued events cost a few hundred
// pages instead of a million objects and their copies. A page is valid
// only during the call it is handed to, the store may reuse it, unless it
// is Kept.
type PendingPage struct {
	// Orgs names the organisations that Waiting refers to by index. It
	// is the same list in every page of one scan, grown at the end when
	// a page names one more, so that an index keeps its organisation.
	Orgs []string
	// Seq, Hash and Stored (Unix microseconds) are each event's, as
	// PendingNotification's; Hash and Stored are zero when it is gone.
	// A store that does not keep the hash beside the record (the parts
	// layout of SQLite) leaves Hash zero: it is then the Hash of the
	// record's event, which the reader decodes anyway and can compute on
	// its own cores rather than in the scan. Hash is empty while every
	// hash of the page is zero (HashOf): a million zero hashes would be
	// 32 MB of fresh memory to write.
	Seq    []int64
	Hash   []event.Hash
	Stored []int64
	// Records holds the stored events as event.DecodeRecord reads them
	// (extra.constituency included; raw, which the notifier never shows,
	// may be left out), end to end: event i's runs
	// from RecordEnds[i-1] (0 for the first) to RecordEnds[i]. Gone[i]
	// is set when the event is gone (removed by retention while queued):
	// its record is empty.
	Records    []byte
	RecordEnds []int
	Gone       []bool
	// Waiting holds the organisations each event waits for, as indexes
	// into Orgs, end to end: event i's run to WaitingEnds[i].
	Waiting     []int32
	WaitingEnds []int
	// Kept is set on a page that the store hands over for good: it never
	// writes to it again, so the reader may keep its arrays (the records)
	// instead of copying them.
	Kept bool
	// Ahead is what the store holds, as it hands this page over, of the
	// pages it has read ahead for later calls (their Footprint), on
	// another core: memory a reader that sizes what a scan holds (the
	// notifier's room under the soft memory limit) counts as its own
	// before the pages reach it. Zero when the store reads no further
	// than the page it hands over.
	Ahead int64
}

// Footprint is the memory p's arrays take, their capacity counted: what
// keeping p holds.
func (p *PendingPage) Footprint() int64 {
	return int64(cap(p.Seq))*8 + int64(cap(p.Hash))*int64(len(event.Hash{})) + int64(cap(p.Stored))*8 +
		int64(cap(p.Records)) + int64(cap(p.RecordEnds))*8 + int64(cap(p.Gone)) +
		int64(cap(p.Waiting))*4 + int64(cap(p.WaitingEnds))*8
}

// Len is how many events p holds.
func (p *PendingPage) Len() int { return len(p.Seq) }

// Record returns event i's record, nil when the event is gone. It is a
// part of p.Records, capped so that appending to it copies.
func (p *PendingPage) Record(i int) []byte {
	start, end, ok := p.RecordSpan(i)
	if !ok {
		return nil
	}
	return p.Records[start:end:end]
}

// RecordSpan returns where event i's record lies in p.Records, ok false
// when the event is gone.
func (p *PendingPage) RecordSpan(i int) (start, end int, ok bool) {
	if p.Gone[i] {
		return 0, 0, false
	}
	end = p.RecordEnds[i]
	if i > 0 {
		start = p.RecordEnds[i-1]
	}
	return start, end, true
}

// OrgsOf returns the indexes into p.Orgs of the organisations event i
// waits for.
func (p *PendingPage) OrgsOf(i int) []int32 {
	start, end := 0, p.WaitingEnds[i]
	if i > 0 {
		start = p.WaitingEnds[i-1]
	}
	return p.Waiting[start:end:end]
}

// HashOf returns event i's hash, zero when the store keeps none.
func (p *PendingPage) HashOf(i int) event.Hash {
	if len(p.Hash) == 0 {
		return event.Hash{}
	}
	return p.Hash[i]
}

// Add appends an event, with its record copied (nil when the event is
// gone) and waiting for the organisations orgs (indexes into p.Orgs).
func (p *PendingPage) Add(seq int64, hash event.Hash, stored int64, record []byte, orgs ...int32) {
	if hash != (event.Hash{}) || len(p.Hash) > 0 {
		// The events before, with zero hashes, first.
		p.Hash = append(p.Hash, make([]event.Hash, len(p.Seq)-len(p.Hash))...)
		p.Hash = append(p.Hash, hash)
	}
	p.Seq = append(p.Seq, seq)
	p.Stored = append(p.Stored, stored)
	p.Records = append(p.Records, record...)
	p.RecordEnds = append(p.RecordEnds, len(p.Records))
	p.Gone = append(p.Gone, record == nil)
	p.Waiting = append(p.Waiting, orgs...)
	p.WaitingEnds = append(p.WaitingEnds, len(p.Waiting))
}

// Sized returns a new empty page for the same Orgs with room for as
// many events, organisations and record bytes as p holds (a little more
// for the records: RecordRoom), so that filling it like p does not grow
// its arrays again and again.
func (p *PendingPage) Sized() *PendingPage {
	return p.SizedWith(make([]byte, 0, p.RecordRoom()))
}

// RecordRoom is the capacity of the records of a page Sized like p.
func (p *PendingPage) RecordRoom() int { return len(p.Records) + len(p.Records)/8 }

// SizedWith is Sized with records (empty) as the new page's Records, for
// a store that places the records of the pages it keeps itself.
func (p *PendingPage) SizedWith(records []byte) *PendingPage {
	n, w := len(p.Seq), len(p.Waiting)
	var hash []event.Hash
	if len(p.Hash) > 0 {
		hash = make([]event.Hash, 0, n)
	}
	return &PendingPage{
		Orgs:        p.Orgs,
		Seq:         make([]int64, 0, n),
		Hash:        hash,
		Stored:      make([]int64, 0, n),
		Records:     records[:0],
		RecordEnds:  make([]int, 0, n),
		Gone:        make([]bool, 0, n),
		Waiting:     make([]int32, 0, w),
		WaitingEnds: make([]int, 0, n),
	}
}

// Reset empties p for the next run of events, keeping its arrays and
// Orgs.
func (p *PendingPage) Reset() {
	p.Seq, p.Hash, p.Stored = p.Seq[:0], p.Hash[:0], p.Stored[:0]
	p.Records, p.RecordEnds, p.Gone = p.Records[:0], p.RecordEnds[:0], p.Gone[:0]
	p.Waiting, p.WaitingEnds = p.Waiting[:0], p.WaitingEnds[:0]
}

// Full reports whether p holds a page's worth: PendingPageEvents events
// or PendingPageBytes of records. A store hands a page over once full.
func (p *PendingPage) Full() bool {
	return len(p.Seq) >= PendingPageEvents || len(p.Records) >= PendingPageBytes
}

// The size of a page of ScanPendingNotifications: large enough that the
// call per page costs nothing, small enough to stay in the cache.
const (
	PendingPageEvents = 1024
	PendingPageBytes  = 1 << 20
)

// PendingCount is how much waits for one organisation.
type PendingCount struct {
	Org    string
	Count  int64
	Oldest time.Time // when the oldest pending event was stored
	// First and Last are the lowest and highest Seq pending.
	First, Last int64
}

// NotifyQueue is the queue of events to notify, filled when events are
// stored (in their transaction) and read by the notifier. What was told to
// whom, the notifier's commit (which consumes the queue, through
// queuesql.ConsumePending, in its transaction) and the settings are
// internal/notify/notifydb's; the outbox is internal/outbox/outboxdb's.
type NotifyQueue interface {
	// PendingNotificationOrgs lists the organisations with pending events.
	PendingNotificationOrgs(ctx context.Context) ([]PendingCount, error)
	// ListPendingNotifications returns org's pending events after Seq
	// afterSeq, in queue order; limit as EventQuery.Limit (default 50, at
	// most 10000). afterSeq pages within one pass of the notifier only: a
	// seq is never reused, but with PostgreSQL and several writers a lower
	// seq can commit after a higher one was listed, so each pass starts
	// from 0.
	ListPendingNotifications(ctx context.Context, org string, afterSeq int64, limit int) ([]PendingNotification, error)
	// ScanPendingNotifications calls fn with every pending event of every
	// organisation, a page of them at a time, in Seq order, from one
	// consistent read: one pass over the events in the order they are
	// stored instead of one lookup each, for a notifier pass over most of
	// the queue. fn must not keep the page, which the store may reuse,
	// unless it is Kept. An error from fn ends the scan and is returned.
	ScanPendingNotifications(ctx context.Context, fn func(*PendingPage) error) error
	// NotifyHorizon returns a Seq up to which the queue is settled: every
	// entry at or below it that will ever be committed is committed, so
	// an entry committed after it returned has a higher Seq. A reader
	// that remembers how far it read (the notifier's scan marks) must not
	// remember past it: with PostgreSQL and several writers a lower Seq
	// can commit after a higher one was read.
	NotifyHorizon(ctx context.Context) (int64, error)
}
