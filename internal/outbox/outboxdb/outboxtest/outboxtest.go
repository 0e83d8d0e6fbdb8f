// Package outboxtest is the contract of the outbox's messages: queued,
// due, delivered, retried, failed and listed, answered alike by outboxdb
// on SQLite and on PostgreSQL, and a randomised differential test that
// runs the same operations on both and compares the answers.
package outboxtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

var base = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// Outbox is what the contract tests: the messages, and queueing them in
// a transaction of their own.
type Outbox interface {
	outbox.Messages
	QueueMessages(ctx context.Context, msgs []outbox.Message) error
}

// Run runs the contract. open returns a fresh database of its own for
// every call, migrated with the constituency's schema and outboxdb.Schema,
// and the outbox on it.
func Run(t *testing.T, open func(t *testing.T) (store.Store, Outbox)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store, s Outbox)
	}{
		{"outbox", testOutbox},
		{"queueing", testQueue},
		{"queueing many", testQueueLarge},
		{"bodies", testBodies},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, s := open(t)
			tt.fn(t, st, s)
		})
	}
}

func hash(b byte) event.Hash { return event.Hash{b, 0xee} }

// Message returns a digest for the organisation org (handle and ID),
// reporting the events of the given ids.
func Message(org string, orgID int64, messageID string, body string, events ...int64) outbox.Message {
	return outbox.Message{
		OrgID: orgID, Org: org, Kind: "digest", Sender: "cert@cert.example",
		Recipients: []string{"abuse@" + org + ".example", "soc@" + org + ".example"},
		Subject:    "[CERT] " + org, MessageID: messageID, Body: []byte(body), Events: len(events),
		Encrypted: true, EventIDs: events,
	}
}

// MessageIDs returns the IDs of list, in its order.
func MessageIDs(list []outbox.Message) []int64 {
	out := make([]int64, len(list))
	for i, m := range list {
		out[i] = m.ID
	}
	return out
}

// outboxFixture is what the steps of testOutbox share: three messages
// queued for organisations a and b, reporting events 1 and 2.
type outboxFixture struct {
	s          Outbox
	a, b       constituency.Organisation
	h1, h2     event.Hash
	m1, m2, m3 outbox.Message
}

func testOutbox(t *testing.T, st store.Store, s Outbox) {
	f := newOutboxFixture(t, st, s)
	f.checkDue(t)
	t.Run("retry", f.testRetry)
	t.Run("sent", f.testSent)
	t.Run("failed", f.testFailed)
	t.Run("unknown", f.testUnknown)
	t.Run("list", f.testList)
}

// newOutboxFixture queues three messages: m1 for a, due at base; m2 for
// b, due an hour later; m3 for a, due an hour earlier.
func newOutboxFixture(t *testing.T, st store.Store, s Outbox) *outboxFixture {
	ctx := t.Context()
	a := createOrg(t, st, "a")
	b := createOrg(t, st, "b")
	// Event 1 concerns both organisations, event 2 only b.
	e1 := ev(t, map[string]string{"time.source": event.FormatTime(base), "source.ip": "192.0.2.1", "comment": "one"}, "a", "b")
	e2 := ev(t, map[string]string{"time.source": event.FormatTime(base), "source.ip": "192.0.2.2", "comment": "two"}, "b")
	insert(t, st, e1, e2)
	idOf := map[event.Hash]int64{}
	for _, p := range pending(t, st, "b") {
		idOf[p.Hash] = p.Seq
	}
	h1, h2 := e1.Hash(), e2.Hash()
	m1 := Message("a", a.ID, "1@cert.example", "body one", idOf[h1])
	m1.Created, m1.NextAttempt = base.Add(-2*time.Hour), base
	m2 := Message("b", b.ID, "2@cert.example", "body two", idOf[h1], idOf[h2])
	m2.Created, m2.NextAttempt = base.Add(-time.Hour), base.Add(time.Hour)
	m3 := Message("a", a.ID, "3@cert.example", "body three")
	m3.Created, m3.NextAttempt = base.Add(-3*time.Hour), base.Add(-time.Hour)
	m3.Kind = "immediate"
	queued := []outbox.Message{m1, m2, m3}
	if err := s.QueueMessages(ctx, queued); err != nil {
		t.Fatalf("QueueMessages: %v", err)
	}
	m1, m2, m3 = queued[0], queued[1], queued[2]
	return &outboxFixture{s: s, a: a, b: b, h1: h1, h2: h2, m1: m1, m2: m2, m3: m3}
}

// due returns the IDs of the messages due at now, up to limit, and
// checks that each is queued, due and has its body.
func (f *outboxFixture) due(t *testing.T, now time.Time, limit int) []int64 {
	t.Helper()
	list, err := f.s.DueMessages(t.Context(), now, limit)
	if err != nil {
		t.Fatalf("DueMessages: %v", err)
	}
	for _, m := range list {
		if m.Status != outbox.MessageQueued || m.NextAttempt.After(now) || len(m.Body) == 0 || m.Size != len(m.Body) {
			t.Errorf("due message %+v at %v", m, now)
		}
	}
	return MessageIDs(list)
}

// status returns message id as stored.
func (f *outboxFixture) status(t *testing.T, id int64) outbox.Message {
	t.Helper()
	m, err := f.s.GetMessage(t.Context(), id)
	if err != nil {
		t.Fatalf("GetMessage(%d): %v", id, err)
	}
	return m
}

// checkDue: the messages due at a time are those queued, oldest first,
// up to a limit, with their body.
func (f *outboxFixture) checkDue(t *testing.T) {
	ctx := t.Context()
	if got := f.due(t, base, 0); !slices.Equal(got, []int64{f.m1.ID, f.m3.ID}) {
		t.Errorf("due at base = %v, want %d %d (oldest first)", got, f.m1.ID, f.m3.ID)
	}
	if got := f.due(t, base.Add(-time.Minute), 0); !slices.Equal(got, []int64{f.m3.ID}) {
		t.Errorf("due a minute earlier = %v, want %d", got, f.m3.ID)
	}
	if got := f.due(t, base.Add(time.Hour), 2); !slices.Equal(got, []int64{f.m1.ID, f.m2.ID}) {
		t.Errorf("due at +1h, limit 2 = %v, want %d %d", got, f.m1.ID, f.m2.ID)
	}
	if list, _ := f.s.DueMessages(ctx, base, 0); len(list) > 0 && !bytes.Equal(list[0].Body, []byte("body one")) {
		t.Errorf("due message body = %q", list[0].Body)
	}
}

// testRetry: a retried message is due again at the time given.
func (f *outboxFixture) testRetry(t *testing.T) {
	ctx := t.Context()
	if err := f.s.RetryMessage(ctx, f.m1.ID, 1, base.Add(30*time.Minute), "421 try again later"); err != nil {
		t.Fatalf("RetryMessage: %v", err)
	}
	if got := f.due(t, base, 0); !slices.Equal(got, []int64{f.m3.ID}) {
		t.Errorf("due at base after a retry = %v, want %d", got, f.m3.ID)
	}
	if got := f.due(t, base.Add(30*time.Minute), 0); !slices.Equal(got, []int64{f.m1.ID, f.m3.ID}) {
		t.Errorf("due at +30m = %v, want %d %d", got, f.m1.ID, f.m3.ID)
	}
	m := f.status(t, f.m1.ID)
	if m.Status != outbox.MessageQueued || m.Attempts != 1 || m.LastError != "421 try again later" || !m.NextAttempt.Equal(base.Add(30*time.Minute)) {
		t.Errorf("after RetryMessage: %+v", m)
	}
}

// testSent: a sent message is never due again, and nothing moves it.
func (f *outboxFixture) testSent(t *testing.T) {
	ctx := t.Context()
	if err := f.s.MarkMessageSent(ctx, f.m3.ID, base.Add(time.Minute), "250 2.0.0 Ok: queued as 4Xyz"); err != nil {
		t.Fatalf("MarkMessageSent: %v", err)
	}
	m := f.status(t, f.m3.ID)
	if m.Status != outbox.MessageSent || !m.Sent.Equal(base.Add(time.Minute)) || m.Reply != "250 2.0.0 Ok: queued as 4Xyz" || m.Attempts != 1 {
		t.Errorf("after MarkMessageSent: %+v", m)
	}
	if got := f.due(t, base.Add(24*time.Hour), 0); slices.Contains(got, f.m3.ID) {
		t.Errorf("a sent message is due: %v", got)
	}
	// Nothing moves a sent message: it must never be sent twice.
	for name, err := range map[string]error{
		"MarkMessageSent": f.s.MarkMessageSent(ctx, f.m3.ID, base, "250"),
		"RetryMessage":    f.s.RetryMessage(ctx, f.m3.ID, 2, base, "x"),
		"FailMessage":     f.s.FailMessage(ctx, f.m3.ID, 2, "x"),
	} {
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s of a sent message = %v, want ErrConflict", name, err)
		}
	}
	if got := f.status(t, f.m3.ID); got.Status != outbox.MessageSent || got.Attempts != 1 || !got.Sent.Equal(m.Sent) {
		t.Errorf("sent message changed: %+v", got)
	}
}

// testFailed: a failed message is not due, until the team puts it back
// in the queue.
func (f *outboxFixture) testFailed(t *testing.T) {
	ctx := t.Context()
	if err := f.s.FailMessage(ctx, f.m2.ID, 5, "550 5.1.1 no such user"); err != nil {
		t.Fatalf("FailMessage: %v", err)
	}
	m := f.status(t, f.m2.ID)
	if m.Status != outbox.MessageFailed || m.Attempts != 5 || m.LastError != "550 5.1.1 no such user" || !m.Sent.IsZero() {
		t.Errorf("after FailMessage: %+v", m)
	}
	if got := f.due(t, base.Add(24*time.Hour), 0); !slices.Equal(got, []int64{f.m1.ID}) {
		t.Errorf("due after a failure = %v, want only %d", got, f.m1.ID)
	}
	// The team may put a failed message back in the queue.
	if err := f.s.RetryMessage(ctx, f.m2.ID, 5, base.Add(2*time.Hour), "requeued"); err != nil {
		t.Fatalf("RetryMessage of a failed message: %v", err)
	}
	if got := f.due(t, base.Add(2*time.Hour), 0); !slices.Equal(got, []int64{f.m1.ID, f.m2.ID}) {
		t.Errorf("due after the requeue = %v, want %d %d", got, f.m1.ID, f.m2.ID)
	}
}

// testUnknown: changing or getting an unknown message gives ErrNotFound.
func (f *outboxFixture) testUnknown(t *testing.T) {
	ctx := t.Context()
	for name, err := range map[string]error{
		"MarkMessageSent": f.s.MarkMessageSent(ctx, 999999, base, "250"),
		"RetryMessage":    f.s.RetryMessage(ctx, 999999, 1, base, "x"),
		"FailMessage":     f.s.FailMessage(ctx, 999999, 1, "x"),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s(unknown) = %v, want ErrNotFound", name, err)
		}
	}
	if _, err := f.s.GetMessage(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetMessage(unknown) = %v, want ErrNotFound", err)
	}
}

// testList: messages are listed newest first, without their bodies,
// by organisation, status and event, a page at a time.
func (f *outboxFixture) testList(t *testing.T) {
	ctx := t.Context()
	all, err := f.s.ListMessages(ctx, outbox.MessageQuery{})
	if err != nil {
		t.Fatalf("ListMessages: %v", err)
	}
	if got := MessageIDs(all); !slices.Equal(got, []int64{f.m3.ID, f.m2.ID, f.m1.ID}) {
		t.Errorf("ListMessages = %v, want newest first", got)
	}
	for _, m := range all {
		if len(m.Body) != 0 || m.Size == 0 || len(m.Recipients) != 2 || m.MessageID == "" {
			t.Errorf("listed message %+v: want no body but its size, recipients and Message-ID", m)
		}
	}
	if len(all) == 3 && (all[0].Kind != "immediate" || all[0].Org != "a" || all[0].OrgID != f.a.ID || !all[0].Encrypted || all[0].Subject != "[CERT] a") {
		t.Errorf("listed message = %+v", all[0])
	}
	for _, tt := range []struct {
		name string
		q    outbox.MessageQuery
		want []int64
	}{
		{"organisation", outbox.MessageQuery{OrgID: f.a.ID}, []int64{f.m3.ID, f.m1.ID}},
		{"status", outbox.MessageQuery{Status: outbox.MessageSent}, []int64{f.m3.ID}},
		{"queued", outbox.MessageQuery{Status: outbox.MessageQueued}, []int64{f.m2.ID, f.m1.ID}},
		{"event", outbox.MessageQuery{EventHash: f.h1}, []int64{f.m2.ID, f.m1.ID}},
		{"event and organisation", outbox.MessageQuery{EventHash: f.h1, OrgID: f.b.ID}, []int64{f.m2.ID}},
		{"other event", outbox.MessageQuery{EventHash: f.h2}, []int64{f.m2.ID}},
		{"event, one a page", outbox.MessageQuery{EventHash: f.h1, Limit: 1}, []int64{f.m2.ID}},
		{"event, next page", outbox.MessageQuery{EventHash: f.h1, BeforeID: f.m2.ID}, []int64{f.m1.ID}},
		{"event never reported", outbox.MessageQuery{EventHash: hash(9)}, nil},
		{"before", outbox.MessageQuery{BeforeID: f.m3.ID}, []int64{f.m2.ID, f.m1.ID}},
		{"limit", outbox.MessageQuery{Limit: 1}, []int64{f.m3.ID}},
		{"limit and before", outbox.MessageQuery{Limit: 1, BeforeID: f.m2.ID}, []int64{f.m1.ID}},
		{"organisation and status", outbox.MessageQuery{OrgID: f.a.ID, Status: outbox.MessageSent}, []int64{f.m3.ID}},
	} {
		list, err := f.s.ListMessages(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := MessageIDs(list); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// testQueue: queueing fills in a message, stores it with the events it
// reports, and is all or nothing, in a transaction of its own or of the
// caller's.
func testQueue(t *testing.T, st store.Store, s Outbox) {
	a := createOrg(t, st, "a")
	var events []*event.Event
	for i := range 4 {
		events = append(events, ev(t, map[string]string{
			"time.source": event.FormatTime(base.Add(time.Duration(i) * time.Minute)),
			"source.ip":   fmt.Sprintf("192.0.2.%d", i),
			"comment":     fmt.Sprint("e", i),
		}, "a"))
	}
	insert(t, st, events...)
	queue := pending(t, st, "a")
	if len(queue) != 4 {
		t.Fatalf("a's queue has %d entries, want 4", len(queue))
	}
	m := queueFirstMessage(t, s, a.ID, events, queue)
	h2, id2 := events[2].Hash(), queue[2].Seq
	t.Run("all or nothing", func(t *testing.T) { testQueueAllOrNothing(t, s, a.ID, m, id2, h2) })
	t.Run("in the caller's transaction", func(t *testing.T) { testQueueInTransaction(t, st, s, a.ID, id2, h2) })
	t.Run("messages without a Message-ID", func(t *testing.T) { testQueueWithoutMessageID(t, s, a.ID) })
}

// reporting returns the IDs of the messages reporting the event h.
func reporting(t *testing.T, s Outbox, h event.Hash) []int64 {
	t.Helper()
	list, err := s.ListMessages(t.Context(), outbox.MessageQuery{EventHash: h})
	if err != nil {
		t.Fatalf("ListMessages: %v", err)
	}
	return MessageIDs(list)
}

// queueFirstMessage queues a message of organisation aID reporting the
// first two of events, and checks that it is filled in, stored as
// queued and listed with those events only. It returns the message.
func queueFirstMessage(t *testing.T, s Outbox, aID int64, events []*event.Event, queue []store.PendingNotification) outbox.Message {
	ctx := t.Context()
	h0, h1, h2 := events[0].Hash(), events[1].Hash(), events[2].Hash()
	id0, id1 := queue[0].Seq, queue[1].Seq
	before := time.Now().Add(-time.Second)
	msgs := []outbox.Message{Message("a", aID, "1.digest@cert.example", "From: cert\r\n\r\nbody one", id0, id1, id0)}
	if err := s.QueueMessages(ctx, msgs); err != nil {
		t.Fatalf("QueueMessages: %v", err)
	}
	m := msgs[0]
	if m.ID == 0 || m.Size != len(m.Body) || m.Status != outbox.MessageQueued || m.Created.Before(before) || !m.NextAttempt.Equal(m.Created) {
		t.Errorf("queued message = %+v: want an ID, the size, queued, created now and due at once", m)
	}
	got, err := s.GetMessage(ctx, m.ID)
	if err != nil {
		t.Fatalf("GetMessage: %v", err)
	}
	want := m
	want.EventIDs = nil
	if !bytes.Equal(got.Body, want.Body) || !slices.Equal(got.Recipients, want.Recipients) || !got.Created.Equal(want.Created) ||
		!got.NextAttempt.Equal(want.NextAttempt) || !got.Sent.IsZero() || got.EventIDs != nil {
		t.Errorf("GetMessage = %+v, want %+v", got, want)
	}
	got.Body, want.Body, got.Recipients, want.Recipients = nil, nil, nil, nil
	got.Created, want.Created, got.NextAttempt, want.NextAttempt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("GetMessage = %+v, want %+v", got, want)
	}
	for _, tt := range []struct {
		hash event.Hash
		want []int64
	}{{h0, []int64{m.ID}}, {h1, []int64{m.ID}}, {h2, nil}} {
		if got := reporting(t, s, tt.hash); !slices.Equal(got, tt.want) {
			t.Errorf("messages reporting %s = %v, want %v", tt.hash, got, tt.want)
		}
	}
	return m
}

// testQueueAllOrNothing: queueing that fails stores none of its
// messages; m stays the only one.
func testQueueAllOrNothing(t *testing.T, s Outbox, aID int64, m outbox.Message, id2 int64, h2 event.Hash) {
	ctx := t.Context()
	for name, msgs := range map[string][]outbox.Message{
		"a Message-ID already queued": {Message("a", aID, "2.digest@cert.example", "two", id2), Message("a", aID, "1.digest@cert.example", "dup", id2)},
		"a Message-ID twice":          {Message("a", aID, "3.digest@cert.example", "three", id2), Message("a", aID, "3.digest@cert.example", "dup")},
	} {
		err := s.QueueMessages(ctx, msgs)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: QueueMessages = %v, want ErrConflict", name, err)
		}
		if msgs[0].ID != 0 || msgs[0].Size != 0 {
			t.Errorf("%s: the failed queueing set message %+v", name, msgs[0])
		}
		list, err := s.ListMessages(ctx, outbox.MessageQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if got := MessageIDs(list); !slices.Equal(got, []int64{m.ID}) {
			t.Errorf("%s: messages after a failed queueing = %v, want only %d", name, got, m.ID)
		}
		if got := reporting(t, s, h2); len(got) != 0 {
			t.Errorf("%s: a failed queueing left the events of its messages", name)
		}
	}
}

// testQueueInTransaction: queued in a transaction that then fails:
// nothing is stored, as when the notifier's commit fails after its
// messages.
func testQueueInTransaction(t *testing.T, st store.Store, s Outbox, aID int64, id2 int64, h2 event.Hash) {
	ctx := t.Context()
	boom := errors.New("boom")
	err := st.DB().Tx(ctx, func(tx sqlkit.DB) error {
		msgs := []outbox.Message{Message("a", aID, "4.digest@cert.example", "four", id2)}
		if err := outboxdb.Queue(ctx, tx, msgs, base); err != nil {
			return err
		}
		if msgs[0].ID == 0 || !msgs[0].Created.Equal(base) {
			t.Errorf("queued in a transaction: %+v, want an ID and created at base", msgs[0])
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx: %v", err)
	}
	if got := reporting(t, s, h2); len(got) != 0 {
		t.Errorf("a rolled back transaction left message %v", got)
	}
}

// testQueueWithoutMessageID: messages without a Message-ID are queued,
// in order.
func testQueueWithoutMessageID(t *testing.T, s Outbox, aID int64) {
	ctx := t.Context()
	msgs := []outbox.Message{Message("a", aID, "", "x"), Message("a", aID, "", "y")}
	if err := s.QueueMessages(ctx, msgs); err != nil {
		t.Fatalf("QueueMessages: %v", err)
	}
	if msgs[0].ID == 0 || msgs[1].ID <= msgs[0].ID {
		t.Errorf("IDs %d, %d", msgs[0].ID, msgs[1].ID)
	}
}

// testQueueLarge: more messages than one statement carries, and more
// events than a message's list holds in a few bytes.
func testQueueLarge(t *testing.T, st store.Store, s Outbox) {
	ctx := t.Context()
	reporting := func(h event.Hash) []int64 {
		t.Helper()
		list, err := s.ListMessages(ctx, outbox.MessageQuery{EventHash: h})
		if err != nil {
			t.Fatalf("ListMessages: %v", err)
		}
		return MessageIDs(list)
	}
	big := createOrg(t, st, "big")
	var batch []*event.Event
	for i := range 1234 {
		batch = append(batch, ev(t, map[string]string{
			"time.source": event.FormatTime(base.Add(time.Duration(i) * time.Second)),
			"source.ip":   fmt.Sprintf("198.51.%d.%d", i/256, i%256),
		}, "big"))
	}
	insert(t, st, batch...)
	queue := pending(t, st, "big")
	if len(queue) != len(batch) {
		t.Fatalf("big's queue has %d entries, want %d", len(queue), len(batch))
	}
	var msgs []outbox.Message
	for i := range 3 {
		var ids []int64
		for _, p := range queue[i*400 : min(i*400+450, len(queue))] {
			ids = append(ids, p.Seq)
		}
		msgs = append(msgs, Message("big", big.ID, fmt.Sprintf("%d.large@cert.example", i), "x", ids...))
	}
	for i := range 1100 {
		msgs = append(msgs, Message("big", big.ID, fmt.Sprintf("%d.many@cert.example", i), fmt.Sprint(i)))
	}
	if err := s.QueueMessages(ctx, msgs); err != nil {
		t.Fatalf("QueueMessages: %v", err)
	}
	for i := 1; i < len(msgs); i++ {
		if msgs[i].ID <= msgs[i-1].ID {
			t.Fatalf("message %d has ID %d after %d: want IDs in the order given", i, msgs[i].ID, msgs[i-1].ID)
		}
	}
	for _, i := range []int{3, 1000, 1102} {
		if got, err := s.GetMessage(ctx, msgs[i].ID); err != nil || string(got.Body) != fmt.Sprint(i-3) || got.MessageID != msgs[i].MessageID {
			t.Errorf("message %d: %+v, %v", i, got, err)
		}
	}
	for _, i := range []int{0, 399, 400, 449, 450, 1233} {
		var want []int64
		for j := 2; j >= 0; j-- {
			if i >= j*400 && i < j*400+450 {
				want = append(want, msgs[j].ID)
			}
		}
		if got := reporting(batch[i].Hash()); !slices.Equal(got, want) {
			t.Errorf("messages reporting event %d = %v, want %v", i, got, want)
		}
	}
}

// The shared helpers of the contract suites.
var (
	createOrg = storetest.Organisation
	ev        = storetest.Event
	insert    = storetest.Insert
	pending   = storetest.Pending
)
