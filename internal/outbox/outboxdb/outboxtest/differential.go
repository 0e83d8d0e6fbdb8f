package outboxtest

// A randomised differential test of the outbox: the same sequence of
// operations on two stores, compared answer by answer.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/store"
)

// diffSide is one of the two databases, its outbox, with what it assigned: the ids of the
// organisations, events and messages in the order they were made, so that
// answers are compared by position, not by id.
type diffSide struct {
	st     store.Store
	s      Outbox
	orgs   []int64
	events []int64
	msgs   []int64
}

// Differential runs steps operations of the outbox (queueing,
// deliveries, retries, failures and the three reads), drawn from seed, on
// a and b, two fresh databases (their outboxdb on them), and fails at the
// first answer in which they differ. The contract says what an answer
// must be; this says that two backends give the same one to whatever
// sequence comes.
func Differential(t *testing.T, a, b store.Store, seed uint64, steps int) {
	events := []*event.Event{
		ev(t, map[string]string{"time.source": event.FormatTime(base), "source.ip": "192.0.2.1", "comment": "one"}, "a", "b"),
		ev(t, map[string]string{"time.source": event.FormatTime(base), "source.ip": "192.0.2.2", "comment": "two"}, "b"),
		ev(t, map[string]string{"time.source": event.FormatTime(base), "source.ip": "192.0.2.3", "comment": "three"}, "a"),
	}
	sides := newDiffSides(t, a, b, events)
	g := &diffOps{ctx: t.Context(), r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), events: events}
	for step := range steps {
		what, op := g.next()
		got, want := op(sides[0]), op(sides[1])
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d, step %d, %s: the stores differ:\n first %+v\nsecond %+v", seed, step, what, got, want)
		}
	}
}

// newDiffSides migrates a and b and gives each organisations a and b
// and events, for Differential.
func newDiffSides(t *testing.T, a, b store.Store, events []*event.Event) []*diffSide {
	ctx := t.Context()
	sides := []*diffSide{{st: a}, {st: b}}
	for _, d := range sides {
		// The messages are the organisations', which the constituency's
		// schema keeps.
		if err := d.st.Migrate(ctx, constituencydb.Schema, outboxdb.Schema); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		d.s = outboxdb.New(d.st.DB(), d.st)
		for _, h := range []string{"a", "b"} {
			d.orgs = append(d.orgs, createOrg(t, d.st, h).ID)
		}
		insert(t, d.st, events...)
		seq := map[event.Hash]int64{}
		for _, h := range []string{"a", "b"} {
			for _, p := range pending(t, d.st, h) {
				seq[p.Hash] = p.Seq
			}
		}
		for _, e := range events {
			d.events = append(d.events, seq[e.Hash()])
		}
	}
	return sides
}

// diffOps draws the operations of Differential from r.
type diffOps struct {
	ctx    context.Context
	r      *rand.Rand
	events []*event.Event
	made   int // the messages queued so far
}

// at draws a time within two hours of base.
func (g *diffOps) at() time.Time {
	r := g.r
	return base.Add(time.Duration(r.IntN(240)-120)*time.Minute + time.Duration(r.IntN(1e6))*time.Microsecond)
}

// next draws the next operation: what it is, and op, which does it on a
// side and returns the answer to compare.
func (g *diffOps) next() (what string, op func(d *diffSide) any) {
	ctx, r, at := g.ctx, g.r, g.at
	// pick is the position of a message, or -1 for an id no store has.
	pick := -1
	if g.made > 0 && r.IntN(8) > 0 {
		pick = r.IntN(g.made)
	}
	switch r.IntN(7) {
	case 0:
		return g.queue()
	case 1:
		when, reply := at(), fmt.Sprint("250 ok ", r.IntN(100))
		what = fmt.Sprintf("mark sent #%d", pick)
		op = func(d *diffSide) any { return errClass(d.s.MarkMessageSent(ctx, d.id(pick), when, reply)) }
	case 2:
		attempts, next, msg := r.IntN(10), at(), fmt.Sprint("421 later ", r.IntN(100))
		what = fmt.Sprintf("retry #%d", pick)
		op = func(d *diffSide) any { return errClass(d.s.RetryMessage(ctx, d.id(pick), attempts, next, msg)) }
	case 3:
		attempts, msg := r.IntN(10), fmt.Sprint("550 no ", r.IntN(100))
		what = fmt.Sprintf("fail #%d", pick)
		op = func(d *diffSide) any { return errClass(d.s.FailMessage(ctx, d.id(pick), attempts, msg)) }
	case 4:
		now, limit := at(), r.IntN(5)
		what = fmt.Sprintf("due at %v limit %d", now, limit)
		op = func(d *diffSide) any {
			list, err := d.s.DueMessages(ctx, now, limit)
			return []any{d.positions(list), errClass(err)}
		}
	case 5:
		what = fmt.Sprintf("get #%d", pick)
		op = func(d *diffSide) any {
			m, err := d.s.GetMessage(ctx, d.id(pick))
			return []any{d.positions([]outbox.Message{m}), errClass(err)}
		}
	default:
		return g.list()
	}
	return what, op
}

// queue draws the queueing of one to three messages, each reporting
// some of the events.
func (g *diffOps) queue() (what string, op func(d *diffSide) any) {
	ctx, r, at, events := g.ctx, g.r, g.at, g.events
	what = "queue"
	var ms []outbox.Message
	for range 1 + r.IntN(3) {
		org := r.IntN(2)
		handle := []string{"a", "b"}[org]
		var evs []int
		for i := range events {
			if r.IntN(2) == 0 {
				evs = append(evs, i)
			}
		}
		body := make([]byte, 1+r.IntN(20))
		for i := range body {
			body[i] = byte(r.IntN(256))
		}
		g.made++
		m := Message(handle, int64(org), fmt.Sprintf("m%d@cert.example", g.made), string(body))
		m.Kind = []string{"digest", "immediate", "test"}[r.IntN(3)]
		m.Encrypted = r.IntN(2) == 0
		m.Created, m.NextAttempt = at(), at()
		m.Events = len(evs)
		ms = append(ms, m)
		// EventIDs are positions here; each side maps them.
		for _, i := range evs {
			ms[len(ms)-1].EventIDs = append(ms[len(ms)-1].EventIDs, int64(i))
		}
	}
	op = func(d *diffSide) any {
		var queued []outbox.Message
		for _, m := range ms {
			m.OrgID = d.orgs[m.OrgID]
			ids := make([]int64, len(m.EventIDs))
			for i, p := range m.EventIDs {
				ids[i] = d.events[p]
			}
			m.EventIDs = ids
			queued = append(queued, m)
		}
		err := d.s.QueueMessages(ctx, queued)
		for _, m := range queued {
			d.msgs = append(d.msgs, m.ID)
		}
		return errClass(err)
	}
	return what, op
}

// list draws a listing of messages by organisation, status, event and
// position.
func (g *diffOps) list() (what string, op func(d *diffSide) any) {
	ctx, r, events := g.ctx, g.r, g.events
	q, org, before, ev := outbox.MessageQuery{Limit: r.IntN(6)}, r.IntN(3)-1, r.IntN(g.made+1)-1, r.IntN(len(events)+2)-1
	if r.IntN(4) == 0 {
		q.Status = []string{outbox.MessageQueued, outbox.MessageSent, outbox.MessageFailed}[r.IntN(3)]
	}
	switch {
	case ev == len(events):
		q.EventHash = event.Hash{1, 2, 3} // no such event
	case ev >= 0:
		q.EventHash = events[ev].Hash()
	}
	what = fmt.Sprintf("list org #%d before #%d %+v", org, before, q)
	op = func(d *diffSide) any {
		q := q
		if org >= 0 {
			q.OrgID = d.orgs[org]
		}
		if before >= 0 {
			q.BeforeID = d.msgs[before]
		}
		list, err := d.s.ListMessages(ctx, q)
		return []any{d.positions(list), errClass(err)}
	}
	return what, op
}

// id returns the id of the message at position pick, or one no store has.
func (d *diffSide) id(pick int) int64 {
	if pick < 0 {
		return 1 << 40
	}
	return d.msgs[pick]
}

// positions returns list with ids replaced by positions, so that two
// stores' answers can be compared.
func (d *diffSide) positions(list []outbox.Message) []outbox.Message {
	out := make([]outbox.Message, len(list))
	for i, m := range list {
		m.ID = int64(indexOf(d.msgs, m.ID))
		m.OrgID = int64(indexOf(d.orgs, m.OrgID))
		out[i] = m
	}
	return out
}

func indexOf(ids []int64, id int64) int {
	for i, v := range ids {
		if v == id {
			return i
		}
	}
	return -1
}

// errClass says what kind of error err is. Any other error keeps its
// text, which names the store, so that it fails the comparison.
func errClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, store.ErrNotFound):
		return "not found"
	case errors.Is(err, store.ErrConflict):
		return "conflict"
	}
	return "error: " + err.Error()
}
