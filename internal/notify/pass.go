package notify

// One notification pass over the queue: what each organisation is told,
// rendered and handed to the outbox. Reading the queue is in queue.go,
// addressing the messages in recipients.go, committing them in commit.go.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
)

// pass is what the workers of one RunOnce share.
type pass struct {
	n           *Notifier
	pc          *passConfig
	id          *pgpmime.Identity
	now         time.Time
	teamDefault Policy
	policies    map[int64]Policy // by organisation ID
	// orgs holds every organisation by handle when the pass read them all
	// at once, lastDigest their digest times and tallies their "seen
	// again" tallies; nil when each is read as needed.
	orgs       map[string]constituency.Organisation
	lastDigest map[string][]byte
	tallies    map[string][]NotifiedKey
	notified   map[string]bool // the organisations told something
	// falsePositives are the observations marked false positives: left
	// out of every message, their queue entries consumed.
	falsePositives map[event.Hash]bool
	// queued holds the queue by organisation (as pending) when the pass
	// read it at once; nil when each organisation's is read as needed,
	// and an organisation's nil when its queue is not read (one that only
	// waits, on a pass between digests).
	queued []*orgQueue
	// pages are the copy of the queue's records that queued refers to.
	pages []string
	// plans holds the plan of each organisation (as pending) that
	// onlyWaits made, for prepare to reuse; nil when it made none.
	plans []*orgPlan
	// horizon is the store's NotifyHorizon, read before the queue: no
	// scan mark passes it.
	horizon int64
	// arenas hold the arrays an organisation's events are decoded into
	// (eachPending), reused by the next organisation a worker prepares:
	// a morning's million events would otherwise allocate and clear
	// half a GB of fields.
	arenas sync.Pool
	// lists hold the lists an organisation's digest is sorted and
	// selected in (orgLists), reused by the next organisation a worker
	// prepares, as arenas are.
	lists sync.Pool
	// packed holds the arrays of packed messages, given back by the
	// committer once their messages are committed (orgWork.releasePacked)
	// for the workers' next.
	packed sizedPool
}

// orgLists are the lists of a digest's events, their queue entries and
// their keys (toTell's), which prepare uses and lets go: a morning's
// million events would otherwise allocate 112 MB of them. isNew is
// selectFresh's set of the keys told for the first time, emptied for the
// next organisation rather than made again (94 MB of a morning's pass).
type orgLists struct {
	events []store.StoredEvent
	seqs   []int64
	keys   []event.Hash
	isNew  map[event.Hash]bool
	// isNewRoom is how many keys isNew held at most: emptying a map
	// costs its room, which a large organisation's leaves it, so it is
	// made again for one much smaller.
	isNewRoom int
}

// tally returns org's "seen again" tally by key.
func (p *pass) tally(ctx context.Context, org string) (map[event.Hash]NotifiedKey, error) {
	list := p.tallies[org]
	if p.tallies == nil {
		var err error
		if list, err = p.n.store.ListRepeatedKeys(ctx, org, p.now); err != nil {
			return nil, fmt.Errorf("repeated keys of %s: %w", org, err)
		}
	}
	m := make(map[event.Hash]NotifiedKey, len(list))
	for _, k := range list {
		m[k.Key] = k
	}
	return m, nil
}

// organisation returns the organisation handle, store.ErrNotFound when
// there is none.
func (p *pass) organisation(ctx context.Context, handle string) (constituency.Organisation, error) {
	if p.orgs == nil {
		return p.n.store.GetOrganisationByHandle(ctx, handle)
	}
	o, ok := p.orgs[handle]
	if !ok {
		return o, fmt.Errorf("organisation %s: %w", handle, store.ErrNotFound)
	}
	return o, nil
}

// orgWork is the prepared work of one organisation.
type orgWork struct {
	org      string
	now      time.Time
	messages []outbox.Message
	// told are the keys of observations told for the first time, at
	// now, until toldExpires: a million a morning, 32 bytes each.
	told        []event.Hash
	toldExpires time.Time
	tally       []NotifiedKey // the new "seen again" tally, if tallyChanged
	// packed are the arrays of the messages' Packed, from packedPool,
	// given back once they are committed (releasePacked).
	packed     []*[]byte
	packedPool *sizedPool
	done       []int64 // consumed pending notifications
	bytes      int
	err        error

	tallyChanged bool
	// queued is the organisation's queue when the pass read it at once
	// (bulk).
	queued     *orgQueue
	bulk       bool
	digestSent bool
	mark       *scanMark // set when the queue below it only waits

	// last is the last entry of the queue when the pass started.
	last int64
	// arena is where eachPending decodes the events of a queue read at
	// once; nothing decoded in it is used after prepare.
	arena *event.RecordArena
	// lists are where its digest is sorted and selected, when its queue
	// was read at once; nothing in them is used after prepare.
	lists *orgLists

	waiting, notified, repeats, duplicates, filtered, withheld, undeliverable int
	falsePositives                                                            int
	skipped                                                                   []SkippedContact
	unknown                                                                   bool
}

func (o *orgWork) empty() bool {
	return len(o.messages) == 0 && len(o.told) == 0 && !o.tallyChanged && len(o.done) == 0 && !o.digestSent
}

func (o *orgWork) applyMark(n *Notifier) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if o.mark != nil {
		n.scanned[o.org] = *o.mark
	} else {
		delete(n.scanned, o.org)
	}
}

// prepare does everything for one organisation but the commit; last is
// the last entry of its queue when the pass started.
func (p *pass) prepare(ctx context.Context, i int, handle string, last int64) *orgWork {
	o := &orgWork{org: handle, now: p.now, last: last}
	if p.queued != nil && p.queued[i] != nil {
		// Each worker takes its own organisations' entries, and lets them
		// go when done.
		o.queued, o.bulk = p.queued[i], true
		p.queued[i] = nil
	}
	var pl *orgPlan
	if p.plans != nil {
		pl, p.plans[i] = p.plans[i], nil
	}
	if o.bulk {
		o.arena, _ = p.arenas.Get().(*event.RecordArena) // or eachPending makes one
		if o.lists, _ = p.lists.Get().(*orgLists); o.lists == nil {
			o.lists = &orgLists{}
		}
	}
	if err := p.prepareOrg(ctx, o, pl); err != nil {
		o.err = err
	}
	if o.arena != nil {
		// The organisation's events are done with: what it commits holds
		// none of them (its messages are bytes, its keys and summaries
		// their own).
		p.arenas.Put(o.arena)
		o.arena = nil
	}
	if o.lists != nil {
		// Those of a large organisation are not kept for the next. The
		// events they refer to stay until the next organisation's take
		// their place, as in the arena.
		if cap(o.lists.events) <= maxReusedEvents {
			p.lists.Put(o.lists)
		}
		o.lists = nil
	}
	return o
}

// orgPlan is what decides how a pass reads one organisation's queue: the
// organisation, its policy (and when that was last changed), whether its
// digest is due, and the queue entry after which the queue is read.
type orgPlan struct {
	org    constituency.Organisation
	policy Policy
	stamp  time.Time
	due    bool
	start  int64
}

// plan returns the plan of organisation handle at this pass; an error
// wrapping store.ErrNotFound when the organisation is gone. A disabled
// organisation's plan holds only the organisation.
func (p *pass) plan(ctx context.Context, handle string) (orgPlan, error) {
	org, err := p.organisation(ctx, handle)
	if err != nil {
		return orgPlan{}, fmt.Errorf("organisation %s: %w", handle, err)
	}
	pl := orgPlan{org: org}
	if org.Disabled {
		return pl, nil
	}
	var own *Policy
	if pol, ok := p.policies[org.ID]; ok {
		own = &pol
	}
	pl.policy = Effective(org, own, p.teamDefault)
	pl.stamp = p.teamDefault.Updated
	if own != nil {
		pl.stamp = own.Updated
	}
	if pl.due, err = p.n.digestDue(ctx, handle, pl.policy.Digest, p.now, p.pc, p.lastDigest); err != nil {
		return pl, err
	}
	if !pl.due {
		p.n.mu.Lock()
		if m, ok := p.n.scanned[handle]; ok && m.policy.Equal(pl.stamp) {
			pl.start = m.seq
		}
		p.n.mu.Unlock()
	}
	return pl, nil
}

// nextDigest is when the digest of policy next falls due after this pass.
func (p *pass) nextDigest(policy Policy) time.Time {
	return nextDigest(p.now, policy.Digest, p.pc.digestAt, p.pc.zone)
}

// onlyWaits reports whether the queue of c, pending[i], only waits at
// this pass: its organisation is disabled, or its digest is not due and
// an earlier pass looked at every entry of it already. It is then not
// read. The plan is kept for prepare.
func (p *pass) onlyWaits(ctx context.Context, i int, pending []store.PendingCount) bool {
	c := pending[i]
	pl, err := p.plan(ctx, c.Org)
	if err != nil {
		return false // prepare says why
	}
	if p.plans == nil {
		p.plans = make([]*orgPlan, len(pending))
	}
	p.plans[i] = &pl
	return pl.org.Disabled || (!pl.due && pl.start >= c.Last)
}

// prepareOrg decides what one organisation is told at this pass (by its
// plan, planned when onlyWaits made it) and prepares it, phase by phase: sort its queue by what its policy does with
// each event (sortQueue), leave out what was told within the window
// (selectFresh), render the messages and address them to the contacts who
// can receive them (renderAll), and bring the "seen again" tally up to
// date (finishTally).
func (p *pass) prepareOrg(ctx context.Context, o *orgWork, planned *orgPlan) error {
	var (
		pl  orgPlan
		err error
	)
	if planned != nil {
		pl = *planned
	} else {
		pl, err = p.plan(ctx, o.org)
	}
	if errors.Is(err, store.ErrNotFound) {
		// Deleted since its events were tagged: nobody to tell. The events
		// stay in the store; only their queue entries go.
		o.unknown = true
		return p.eachPending(ctx, o, 0, func(pn store.PendingNotification) {
			o.done = append(o.done, pn.Seq)
		})
	}
	if err != nil {
		return err
	}
	org, policy, due, start := pl.org, pl.policy, pl.due, pl.start
	if org.Disabled {
		// A disabled organisation is told nothing, and its queue is held,
		// not consumed: it goes out once the organisation is enabled again.
		return nil
	}
	if !due && start > 0 && start >= o.last && !o.bulk {
		// An earlier pass looked at the whole queue, which only waits: it
		// is not read again (what was queued since the pass started is,
		// at the next).
		o.mark = &scanMark{seq: start, policy: pl.stamp, digest: p.nextDigest(policy)}
		return nil
	}

	q, err := p.sortQueue(ctx, o, policy, due, start)
	if err != nil {
		return err
	}
	if seq := min(q.lastSeq, p.horizon); !due && seq > 0 {
		// Not past the horizon: what commits after it, even with a lower
		// seq than one read, is read by the next pass.
		o.mark = &scanMark{seq: seq, policy: pl.stamp, digest: p.nextDigest(policy)}
	}
	if len(q.immediate) == 0 && len(q.digest.events) == 0 {
		return nil
	}
	toRender, tally, reported, err := p.selectFresh(ctx, o, q)
	if err != nil {
		return err
	}
	rcpt := p.recipients(org)
	o.skipped = rcpt.skipped
	if err := p.renderAll(o, org, policy, toRender, rcpt); err != nil {
		return err
	}
	o.finishTally(tally, rcpt.reachable(), reported)
	return nil
}

// sortedQueue is an organisation's queue sorted by what its policy does
// with each event: sent at once (by type), in the digest, or neither.
type sortedQueue struct {
	immediate map[string]*toTell // by classification.type
	digest    toTell
	// lastSeq is the last queue entry read.
	lastSeq int64
}

// toTell is events to tell in one kind of message, with the queue entry
// of each and, once toldBefore found them, their notification keys: in
// lists beside the events rather than maps by hash, as a morning's
// million events would fill.
type toTell struct {
	events []store.StoredEvent
	seqs   []int64
	keys   []event.Hash
}

func (t *toTell) add(se store.StoredEvent, seq int64) {
	t.events = append(t.events, se)
	t.seqs = append(t.seqs, seq)
}

// sortQueue reads o's queue after start and sorts it: events the policy
// does not select and TLP:RED events are consumed at once (counted as
// filtered or withheld), the immediate types kept for a message each, the
// rest kept for the digest when it is due and left waiting when not.
func (p *pass) sortQueue(ctx context.Context, o *orgWork, policy Policy, due bool, start int64) (*sortedQueue, error) {
	// size is how many events are pending, when the pass read them already:
	// the lists below are made that large at once.
	size := o.queued.len()
	q := &sortedQueue{
		immediate: map[string]*toTell{},
		lastSeq:   start,
	}
	if l := o.lists; due && l != nil {
		if cap(l.events) < size {
			l.events, l.seqs = make([]store.StoredEvent, 0, size), make([]int64, 0, size)
		}
		q.digest = toTell{events: l.events[:0], seqs: l.seqs[:0]}
	} else if due {
		q.digest = toTell{events: make([]store.StoredEvent, 0, size), seqs: make([]int64, 0, size)}
	}
	o.done = make([]int64, 0, size)
	// Where the type and the TLP were in the event before (GetNear): an
	// organisation's events are mostly of a few shapes.
	var nearType, nearTLP int
	err := p.eachPending(ctx, o, start, func(pn store.PendingNotification) {
		q.lastSeq = pn.Seq
		e := pn.Event
		var typ, tlp string
		if e != nil {
			typ, _ = e.GetNear("classification.type", &nearType)
			tlp, _ = e.GetNear("tlp", &nearTLP)
		}
		switch {
		case e == nil || !matchesType(policy, e, typ):
			o.filtered++
			o.done = append(o.done, pn.Seq)
			return
		case strings.EqualFold(tlp, "RED"):
			// TLP:RED is for the named recipients of the source only.
			o.withheld++
			o.done = append(o.done, pn.Seq)
			return
		}
		se := store.StoredEvent{Hash: pn.Hash, Stored: pn.Stored, Event: e}
		switch {
		case immediateType(policy, typ):
			t := q.immediate[typ]
			if t == nil {
				t = &toTell{}
				q.immediate[typ] = t
			}
			t.add(se, pn.Seq)
		case policy.Digest == DigestOff:
			o.filtered++
			o.done = append(o.done, pn.Seq)
			return
		case due:
			q.digest.add(se, pn.Seq)
		default:
			o.waiting++
			return
		}
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}

// toldBefore finds the notification key of every event to tell (toTell's
// keys), and returns which of those observations were told already,
// within the window.
func (p *pass) toldBefore(ctx context.Context, o *orgWork, q *sortedQueue) (map[event.Hash]NotifiedKey, error) {
	// The keys are listed only to ask the store, which an organisation
	// told nothing within the window (most of a morning's, read at once)
	// is not.
	ask := p.notified == nil || p.notified[o.org]
	var keys []event.Hash
	if ask {
		n := len(q.digest.events)
		for _, t := range q.immediate {
			n += len(t.events)
		}
		keys = make([]event.Hash, 0, n)
	}
	find := func(t *toTell) {
		if l := o.lists; t == &q.digest && l != nil {
			if cap(l.keys) < len(t.events) {
				l.keys = make([]event.Hash, len(t.events))
			}
			t.keys = l.keys[:len(t.events)]
		} else {
			t.keys = make([]event.Hash, len(t.events))
		}
		for i, se := range t.events {
			t.keys[i] = Key(se.Event)
		}
		if ask {
			keys = append(keys, t.keys...)
		}
	}
	for _, t := range q.immediate {
		find(t)
	}
	find(&q.digest)
	known := map[event.Hash]NotifiedKey{}
	if ask {
		slices.SortFunc(keys, func(a, b event.Hash) int { return bytes.Compare(a[:], b[:]) })
		keys = slices.Compact(keys)
		var err error
		if known, err = p.n.store.GetNotifiedKeys(ctx, o.org, keys, p.now); err != nil {
			return nil, fmt.Errorf("notified keys of %s: %w", o.org, err)
		}
	}
	return known, nil
}

// selectFresh consumes the sorted events and keeps those to tell: an
// observation marked a false positive is dropped; one told within the window, or already in the "seen again"
// tally, is counted as a repeat; one seen twice in this pass is told once.
// It returns the messages to render (one per immediate type, in type
// order, then the digest with its "seen again" list), the tally, and
// whether the digest reported the tally.
func (p *pass) selectFresh(ctx context.Context, o *orgWork, q *sortedQueue) (toRender []renderInput, tally map[event.Hash]NotifiedKey, reported bool, err error) {
	known, err := p.toldBefore(ctx, o, q)
	if err != nil {
		return nil, nil, false, err
	}
	if tally, err = p.tally(ctx, o.org); err != nil {
		return nil, nil, false, err
	}
	// An observation marked a false positive since it was counted
	// leaves the tally: it is not listed "seen again" either.
	for k := range tally {
		if p.falsePositives[k] {
			delete(tally, k)
			o.tallyChanged = true
		}
	}
	n := len(q.digest.events)
	for _, t := range q.immediate {
		n += len(t.events)
	}
	isNew := newKeySet(o.lists, n) // told for the first time in this pass
	o.told, o.toldExpires = make([]event.Hash, 0, n), p.now.Add(p.pc.cfg.Window)
	// fresh keeps the events of t to tell, with their queue entries; the
	// others are consumed as repeats. They are kept in t's own arrays,
	// each written no later than it is read: t is not used after.
	fresh := func(t *toTell) ([]store.StoredEvent, []int64) {
		out, seqs := t.events[:0], t.seqs[:0]
		for i, se := range t.events {
			k := t.keys[i]
			o.done = append(o.done, t.seqs[i])
			if p.falsePositives[k] {
				// Marked by an analyst: never told, not counted as seen
				// again.
				o.falsePositives++
				continue
			}
			if isNew[k] {
				o.duplicates++ // the same observation twice in this pass
				continue
			}
			if t, ok := tally[k]; ok {
				t.Repeats++
				tally[k] = t
				o.repeats++
				o.tallyChanged = true
				continue
			}
			if prev, ok := known[k]; ok {
				prev.Repeats, prev.Summary = 1, Summary(se.Event)
				tally[k] = prev
				o.repeats++
				o.tallyChanged = true
				continue
			}
			isNew[k] = true
			o.told = append(o.told, k)
			out, seqs = append(out, se), append(seqs, t.seqs[i])
		}
		return out, seqs
	}
	types := make([]string, 0, len(q.immediate))
	for t := range q.immediate {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		if list, seqs := fresh(q.immediate[t]); len(list) > 0 {
			toRender = append(toRender, renderInput{Kind: NameImmediate, Type: t, Events: list, Seqs: seqs})
		}
	}
	if len(q.digest.events) > 0 {
		o.digestSent = true
		if list, seqs := fresh(&q.digest); len(list) > 0 {
			in := renderInput{Kind: NameDigest, Events: list, Seqs: seqs}
			p.repeats(tally, &in)
			reported = len(tally) > 0 // the digest reports the tally
			toRender = append(toRender, in)
		}
	}
	return toRender, tally, reported, nil
}

// newKeySet returns an empty set for n keys: the one of lists, emptied,
// when there is one, made and kept in lists when not.
func newKeySet(lists *orgLists, n int) map[event.Hash]bool {
	if lists == nil {
		return make(map[event.Hash]bool, n)
	}
	if lists.isNew == nil || lists.isNewRoom > 4*max(n, 64) {
		lists.isNew, lists.isNewRoom = make(map[event.Hash]bool, n), n
		return lists.isNew
	}
	clear(lists.isNew)
	lists.isNewRoom = max(lists.isNewRoom, n)
	return lists.isNew
}

// renderAll renders each message for org, then signs, encrypts and
// addresses it (deliver), and adds the outbox messages to o. The queue
// entries of the messages' events are the inputs' Seqs.
func (p *pass) renderAll(o *orgWork, org constituency.Organisation, policy Policy, toRender []renderInput, rcpt recipientSet) error {
	// held are the arrays of the signed messages, given back once each
	// is packed: what is committed is the packed form.
	var held []*[]byte
	for _, in := range toRender {
		in.Org, in.Language, in.Format, in.Now = org, policy.Language, policy.Format, p.now
		msgs, err := p.pc.render.render(in)
		if err != nil {
			return fmt.Errorf("render %s of %s: %w", in.Kind, o.org, err)
		}
		for j, m := range msgs {
			ids := slices.Clone(in.Seqs[m.first : m.first+len(m.Events)])
			held = held[:0]
			out, err := p.deliver(org, m, ids, rcpt, &held)
			if err != nil {
				// This message's files and the rest's go back too.
				for k := j; k < len(msgs); k++ {
					p.pc.render.recycle(&msgs[k])
				}
				p.pc.render.messages.putAll(held)
				return fmt.Errorf("%s of %s: %w", in.Kind, o.org, err)
			}
			for i := range out {
				// Packed here, on the workers, not by the one goroutine
				// that commits.
				room := o.packedRoom(&p.packed)
				if out[i].Encrypted {
					// The entity is not in an encrypted body: nothing to find.
					out[i].Packed = outbox.PackBodyRunsTo(room, out[i].Body, nil)
				} else {
					out[i].Packed = packBody(room, out[i].Body, m)
				}
				o.bytes += len(out[i].Body)
				if out[i].Status == outbox.MessageFailed {
					o.undeliverable++
				}
				// What is committed is the packed form: the body goes,
				// its array (held, when signed only) to the next message.
				out[i].Size, out[i].Body = len(out[i].Body), nil
			}
			p.pc.render.messages.putAll(held)
			p.pc.render.recycle(&m)
			o.messages = append(o.messages, out...)
			if rcpt.reachable() {
				o.notified += len(m.Events)
			}
		}
	}
	return nil
}

// packBody is outbox.PackBody of body, a message made of m, which it
// packs with m's runs where they lie in body (bodyRuns), into the array
// room returns (outbox.PackBodyRunsTo).
func packBody(room func(n int) []byte, body []byte, m rendered) []byte {
	return outbox.PackBodyRunsTo(room, body, bodyRuns(body, m))
}

// packedRoom returns where a message of o is packed: an array of pool,
// which o keeps until its commit (releasePacked). The room is asked for
// once a message is packed, before the next.
func (o *orgWork) packedRoom(pool *sizedPool) func(n int) []byte {
	return func(n int) []byte {
		b := pool.get(n)
		o.packed, o.packedPool = append(o.packed, b), pool
		return *b
	}
}

// releasePacked gives the arrays of o's packed messages back, once they
// are committed (the store copied them): a morning's pass would otherwise
// allocate 180 MB of them. o's messages hold none after.
func (o *orgWork) releasePacked() {
	for i := range o.messages {
		o.messages[i].Packed = nil
	}
	if o.packedPool != nil {
		o.packedPool.putAll(o.packed)
	}
	o.packed, o.packedPool = nil, nil
}

// bodyRuns returns the runs of m where they lie in body: where m's entity
// is in body byte for byte as it was rendered (signed, not encrypted), its
// attachments need not be decoded from base64 again. It returns nil when
// the entity is not found.
func bodyRuns(body []byte, m rendered) []outbox.Base64Run {
	const tail = 64
	if len(m.runs) == 0 || len(m.Entity) < tail {
		return nil
	}
	// The entity ends the signed part: its last bytes, which end in its
	// own boundary, are found from the end.
	end := bytes.LastIndex(body, m.Entity[len(m.Entity)-tail:])
	if end < 0 {
		return nil
	}
	end += tail
	shift, from := end-len(m.Entity), m.runs[0].Offset
	if shift+from < 0 || !bytes.Equal(body[shift+from:end], m.Entity[from:]) {
		return nil
	}
	runs := make([]outbox.Base64Run, len(m.runs))
	for i, r := range m.runs {
		runs[i] = outbox.Base64Run{Offset: r.Offset + shift, Data: r.Data}
	}
	return runs
}

// finishTally settles what the pass told and the "seen again" tally it
// commits: when nobody could be reached nothing counts as told; a digest
// that reported the tally starts it afresh.
func (o *orgWork) finishTally(tally map[event.Hash]NotifiedKey, reachable, reported bool) {
	switch {
	case !reachable:
		// Nothing went out: the observations were not told, so a sighting
		// after the contacts are fixed must be new, and the "seen again"
		// counts keep running.
		o.told = nil
	case reported:
		clear(tally)
		o.tallyChanged = true
	}
	if o.tallyChanged {
		o.tally = make([]NotifiedKey, 0, len(tally))
		for _, k := range tally {
			o.tally = append(o.tally, k)
		}
		slices.SortFunc(o.tally, func(a, b NotifiedKey) int {
			if c := a.FirstSent.Compare(b.FirstSent); c != 0 {
				return c
			}
			return bytes.Compare(a.Key[:], b.Key[:])
		})
	}
}

// repeats fills in the "seen again" list of a digest from the tally, the
// most repeated first; the digest reports every entry, the list shows the
// first maxRepeatLines.
func (p *pass) repeats(tally map[event.Hash]NotifiedKey, in *renderInput) {
	list := make([]NotifiedKey, 0, len(tally))
	for _, k := range tally {
		if k.Repeats > 0 {
			list = append(list, k)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Repeats != list[j].Repeats {
			return list[i].Repeats > list[j].Repeats
		}
		return list[i].Summary < list[j].Summary
	})
	for i, k := range list {
		if i >= maxRepeatLines {
			in.MoreRepeats++
			continue
		}
		in.Repeats = append(in.Repeats, Repeat{Summary: k.Summary, Times: k.Repeats, FirstSent: k.FirstSent})
	}
}
