package notifytest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb/outboxtest"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// The contract of what was told to whom and of the commit of a pass.

// Notifier is what the contract tests: the settings, what was told to
// whom and the commit of a pass.
type Notifier interface {
	notify.Settings
	notify.Records
}

// labels are the comments of the events of list.
func labels(list []store.PendingNotification) []string {
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = p.Event.Value("comment")
	}
	return out
}

func hash(b byte) event.Hash { return event.Hash{b, 0xee} }

// commitFixture is what the steps of testCommitNotifications share:
// organisation a with four events queued, and the message of the first
// commit, which the later steps expect to find unchanged.
type commitFixture struct {
	st     store.Store
	s      Notifier
	ob     *outboxdb.Store
	a      constituency.Organisation
	events []*event.Event
	queue  []store.PendingNotification
	m      outbox.Message
}

// key is a record of telling a about key b, valid for valid from base.
func (f *commitFixture) key(b byte, valid time.Duration) notify.NotifiedKey {
	return notify.NotifiedKey{Org: "a", Key: hash(b), FirstSent: base, Expires: base.Add(valid)}
}

func testCommitNotifications(t *testing.T, st store.Store, s Notifier) {
	f := newCommitFixture(t, st, s)
	f.commitFirst(t)
	t.Run("all or nothing", f.testAllOrNothing)
	t.Run("under a lease this process no longer holds", f.testLeaseLost)
	// More rows than one statement of a store carries, with a last chunk
	// that is not full.
	t.Run("large", func(t *testing.T) { testCommitLarge(t, f) })
	t.Run("messages without a Message-ID", f.testWithoutMessageID)
}

// newCommitFixture creates organisation a and queues four events for it.
func newCommitFixture(t *testing.T, st store.Store, s Notifier) *commitFixture {
	f := &commitFixture{st: st, s: s, ob: outboxdb.New(st.DB(), st), a: createOrg(t, st, "a")}
	for i := range 4 {
		f.events = append(f.events, ev(t, map[string]string{
			"time.source": event.FormatTime(base.Add(time.Duration(i) * time.Minute)),
			"source.ip":   fmt.Sprintf("192.0.2.%d", i),
			"comment":     fmt.Sprint("e", i),
		}, "a"))
	}
	insert(t, st, f.events...)
	f.queue = pending(t, st, "a")
	if len(f.queue) != 4 {
		t.Fatalf("a's queue has %d entries, want 4", len(f.queue))
	}
	return f
}

// commitFirst commits a message reporting the first two events, two
// keys, state and the consumption of those two events, and checks that
// each of them is there afterwards.
func (f *commitFixture) commitFirst(t *testing.T) {
	ctx := t.Context()
	id0, id1 := f.queue[0].Seq, f.queue[1].Seq
	before := time.Now().Add(-time.Second)
	c := &notify.NotificationCommit{
		Messages: []outbox.Message{outboxtest.Message("a", f.a.ID, "1.digest@cert.example", "From: cert\r\n\r\nbody one", id0, id1, id0)},
		Told:     []notify.NotifiedKey{f.key(1, 24*time.Hour), f.key(2, 24*time.Hour)},
		State:    map[string][]byte{"test.commit.one": []byte("1"), "test.commit.empty": nil},
		Done:     map[string][]int64{"a": {f.queue[0].Seq, f.queue[1].Seq}},
	}
	if err := f.st.PutState(ctx, "test.commit.one", []byte("before")); err != nil {
		t.Fatal(err)
	}
	if err := f.s.CommitNotifications(ctx, c); err != nil {
		t.Fatalf("CommitNotifications: %v", err)
	}
	for key, want := range map[string]string{"test.commit.one": "1", "test.commit.empty": ""} {
		if got, err := f.st.GetState(ctx, key); err != nil || got == nil || string(got) != want {
			t.Errorf("GetState(%s) after the commit = %q, %v; want %q", key, got, err, want)
		}
	}
	f.m = c.Messages[0]
	m := f.m
	if m.ID == 0 || m.Size != len(m.Body) || m.Status != outbox.MessageQueued || m.Created.Before(before) || !m.NextAttempt.Equal(m.Created) {
		t.Errorf("committed message = %+v: want an ID, the size, queued, created now and due at once", m)
	}
	f.checkFirstMessage(t)
	keys, err := f.s.GetNotifiedKeys(ctx, "a", []event.Hash{hash(1), hash(2), hash(3)}, base)
	if err != nil {
		t.Fatalf("GetNotifiedKeys: %v", err)
	}
	if len(keys) != 2 || !keys[hash(1)].Expires.Equal(base.Add(24*time.Hour)) || !keys[hash(2)].FirstSent.Equal(base) || keys[hash(1)].Org != "a" {
		t.Errorf("keys after the commit = %+v", keys)
	}
	if got := labels(pending(t, f.st, "a")); !slices.Equal(got, []string{"e2", "e3"}) {
		t.Errorf("a's queue = %v, want e2 e3", got)
	}
}

// checkFirstMessage checks that the outbox holds the first commit's
// message as committed, and that it reports the first two events only.
func (f *commitFixture) checkFirstMessage(t *testing.T) {
	ctx := t.Context()
	m := f.m
	got, err := f.ob.GetMessage(ctx, m.ID)
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
	h0, h1, h2 := f.events[0].Hash(), f.events[1].Hash(), f.events[2].Hash()
	for _, tt := range []struct {
		hash event.Hash
		want []int64
	}{{h0, []int64{m.ID}}, {h1, []int64{m.ID}}, {h2, nil}} {
		list, err := f.ob.ListMessages(ctx, outbox.MessageQuery{EventHash: tt.hash})
		if err != nil {
			t.Fatalf("ListMessages: %v", err)
		}
		if got := outboxtest.MessageIDs(list); !slices.Equal(got, tt.want) {
			t.Errorf("messages reporting %s = %v, want %v", tt.hash, got, tt.want)
		}
	}
}

// testAllOrNothing: a commit that fails at its first or its last step
// writes nothing.
func (f *commitFixture) testAllOrNothing(t *testing.T) {
	queue := pending(t, f.st, "a")
	id2 := f.queue[2].Seq
	a := f.a
	for _, tt := range []struct {
		name string
		msgs []outbox.Message
		// refuseConsume fails the last step (consuming the queue),
		// after the messages, keys, tallies and state were written.
		// SQLite takes any input past the messages (PostgreSQL
		// refuses a NUL byte in a key, SQLite stores it), so a
		// trigger makes the database refuse it on both.
		refuseConsume bool
	}{
		{name: "a Message-ID already queued", msgs: []outbox.Message{outboxtest.Message("a", a.ID, "2.digest@cert.example", "two", id2), outboxtest.Message("a", a.ID, "1.digest@cert.example", "dup", id2)}},
		{name: "a Message-ID twice", msgs: []outbox.Message{outboxtest.Message("a", a.ID, "3.digest@cert.example", "three", id2), outboxtest.Message("a", a.ID, "3.digest@cert.example", "dup")}},
		{name: "the queue refuses at the last step", msgs: []outbox.Message{outboxtest.Message("a", a.ID, "4.digest@cert.example", "four", id2)}, refuseConsume: true},
	} {
		name := tt.name
		if tt.refuseConsume {
			refuseConsume(t, f.st)
		}
		c := &notify.NotificationCommit{
			Messages: tt.msgs,
			Told:     []notify.NotifiedKey{f.key(3, time.Hour), f.key(1, 48*time.Hour)},
			Repeats:  map[string][]notify.NotifiedKey{"a": {{Org: "a", Key: hash(2), FirstSent: base, Expires: base.Add(time.Hour), Repeats: 1, Summary: "x"}}},
			State:    map[string][]byte{"test.commit.one": []byte("changed"), "test.commit.failed": []byte("x")},
			Done:     map[string][]int64{"a": {queue[0].Seq}},
		}
		err := f.s.CommitNotifications(t.Context(), c)
		if tt.refuseConsume {
			allowConsume(t, f.st)
			if err == nil || !strings.Contains(err.Error(), "consume refused") {
				t.Errorf("%s: CommitNotifications = %v, want the trigger's refusal", name, err)
			}
		} else if !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: CommitNotifications = %v, want ErrConflict", name, err)
		}
		if c.Messages[0].ID != 0 || c.Messages[0].Size != 0 {
			t.Errorf("%s: the failed commit set message %+v", name, c.Messages[0])
		}
		f.checkUnchanged(t, name)
	}
}

// testLeaseLost: a commit made under a lease that another process holds,
// or that was released, writes nothing and says so (store.ErrLeaseLost).
func (f *commitFixture) testLeaseLost(t *testing.T) {
	ctx := t.Context()
	if held, err := f.st.TakeLease(ctx, "notify", "other", time.Now(), time.Hour); err != nil || held != "other" {
		t.Fatalf("TakeLease: %q, %v", held, err)
	}
	for _, step := range []string{"held by another", "released"} {
		if step == "released" {
			if err := f.st.ReleaseLease(ctx, "notify", "other"); err != nil {
				t.Fatal(err)
			}
		}
		c := &notify.NotificationCommit{
			Messages:  []outbox.Message{outboxtest.Message("a", f.a.ID, "5.digest@cert.example", "five", f.queue[2].Seq)},
			Told:      []notify.NotifiedKey{f.key(3, time.Hour)},
			State:     map[string][]byte{"test.commit.one": []byte("changed")},
			Done:      map[string][]int64{"a": {f.queue[2].Seq}},
			LeaseName: "notify", LeaseHolder: "this process",
		}
		if err := f.s.CommitNotifications(ctx, c); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("%s: CommitNotifications = %v, want ErrLeaseLost", step, err)
		}
		f.checkUnchanged(t, step)
	}
}

// checkUnchanged checks that the failed commit name left the messages,
// keys, tallies, queue and state as the first commit wrote them.
func (f *commitFixture) checkUnchanged(t *testing.T, name string) {
	ctx := t.Context()
	list, err := f.ob.ListMessages(ctx, outbox.MessageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := outboxtest.MessageIDs(list); !slices.Equal(got, []int64{f.m.ID}) {
		t.Errorf("%s: messages after a failed commit = %v, want only %d", name, got, f.m.ID)
	}
	if list, _ := f.ob.ListMessages(ctx, outbox.MessageQuery{EventHash: f.events[2].Hash()}); len(list) != 0 {
		t.Errorf("%s: a failed commit left the events of its messages", name)
	}
	keys, err := f.s.GetNotifiedKeys(ctx, "a", []event.Hash{hash(1), hash(3)}, base)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := keys[hash(3)]; ok || !keys[hash(1)].Expires.Equal(base.Add(24*time.Hour)) {
		t.Errorf("%s: keys after a failed commit = %+v", name, keys)
	}
	if tally, err := f.s.ListRepeatedKeys(ctx, "a", base); err != nil || len(tally) != 0 {
		t.Errorf("%s: tally after a failed commit = %+v, %v", name, tally, err)
	}
	if got := labels(pending(t, f.st, "a")); !slices.Equal(got, []string{"e2", "e3"}) {
		t.Errorf("%s: a's queue after a failed commit = %v, want e2 e3", name, got)
	}
	if got, err := f.st.GetState(ctx, "test.commit.one"); err != nil || string(got) != "1" {
		t.Errorf("%s: state after a failed commit = %q, %v; want the committed 1", name, got, err)
	}
	if _, err := f.st.GetState(ctx, "test.commit.failed"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: GetState of a key of the failed commit = %v, want ErrNotFound", name, err)
	}
}

// testCommitLarge commits three overlapping messages over 1234 events,
// 777 keys (one given twice) and as many state entries, and consumes
// the whole queue.
func testCommitLarge(t *testing.T, f *commitFixture) {
	ctx := t.Context()
	st, s := f.st, f.s
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
	c := &notify.NotificationCommit{State: map[string][]byte{}}
	for i := range 3 {
		var ids []int64
		for _, p := range queue[i*400 : min(i*400+450, len(queue))] {
			ids = append(ids, p.Seq)
		}
		c.Messages = append(c.Messages, outboxtest.Message("big", big.ID, fmt.Sprintf("%d.large@cert.example", i), "x", ids...))
	}
	for i := range 777 {
		c.Told = append(c.Told, notify.NotifiedKey{Org: "big", Key: event.Hash{byte(i), byte(i >> 8), 0x55},
			FirstSent: base, Expires: base.Add(time.Hour)})
		c.State[fmt.Sprintf("test.large.%d", i)] = []byte(fmt.Sprint(i))
	}
	// A key given twice counts as given last.
	twice := c.Told[3]
	twice.Expires = base.Add(2 * time.Hour)
	c.Told = append(c.Told, twice)
	c.Done = map[string][]int64{}
	for _, p := range queue {
		c.Done["big"] = append(c.Done["big"], p.Seq)
	}
	if err := s.CommitNotifications(ctx, c); err != nil {
		t.Fatalf("CommitNotifications: %v", err)
	}
	for _, i := range []int{0, 399, 400, 449, 450, 1233} {
		list, err := f.ob.ListMessages(ctx, outbox.MessageQuery{EventHash: batch[i].Hash()})
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for j := 2; j >= 0; j-- {
			if i >= j*400 && i < j*400+450 {
				want = append(want, c.Messages[j].ID)
			}
		}
		if got := outboxtest.MessageIDs(list); !slices.Equal(got, want) {
			t.Errorf("messages reporting event %d = %v, want %v", i, got, want)
		}
	}
	checkLargeCommitted(t, f, c, twice)
}

// checkLargeCommitted checks the keys, state and queue after
// testCommitLarge's commit c, in which twice was the last of a key given
// twice.
func checkLargeCommitted(t *testing.T, f *commitFixture, c *notify.NotificationCommit, twice notify.NotifiedKey) {
	ctx := t.Context()
	var hs []event.Hash
	for _, k := range c.Told {
		hs = append(hs, k.Key)
	}
	keys, err := f.s.GetNotifiedKeys(ctx, "big", hs, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 777 || !keys[twice.Key].Expires.Equal(twice.Expires) {
		t.Errorf("GetNotifiedKeys found %d keys (want 777), the one given twice expires %v (want the last, %v)", len(keys), keys[twice.Key].Expires, twice.Expires)
	}
	for _, i := range []int{0, 500, 776} {
		if got, err := f.st.GetState(ctx, fmt.Sprintf("test.large.%d", i)); err != nil || string(got) != fmt.Sprint(i) {
			t.Errorf("GetState(test.large.%d) = %q, %v", i, got, err)
		}
	}
	if got := pending(t, f.st, "big"); len(got) != 0 {
		t.Errorf("big's queue has %d entries after consuming all, want 0", len(got))
	}
}

// testWithoutMessageID: messages without a Message-ID are committed, in
// order.
func (f *commitFixture) testWithoutMessageID(t *testing.T) {
	c := &notify.NotificationCommit{Messages: []outbox.Message{outboxtest.Message("a", f.a.ID, "", "x"), outboxtest.Message("a", f.a.ID, "", "y")}}
	if err := f.s.CommitNotifications(t.Context(), c); err != nil {
		t.Fatalf("CommitNotifications: %v", err)
	}
	if c.Messages[0].ID == 0 || c.Messages[1].ID <= c.Messages[0].ID {
		t.Errorf("IDs %d, %d", c.Messages[0].ID, c.Messages[1].ID)
	}
}

// keysHelper holds the helpers of testNotifiedKeys's steps.
type keysHelper struct {
	t *testing.T
	s Notifier
}

// toldKey is a record of telling org about key b, first sent at base
// plus first and expiring at base plus expires.
func toldKey(org string, b byte, first, expires time.Duration) notify.NotifiedKey {
	return notify.NotifiedKey{Org: org, Key: hash(b), FirstSent: base.Add(first), Expires: base.Add(expires)}
}

// repeatedKey is a tally entry of org for key b.
func repeatedKey(org string, b byte, repeats int, summary string, expires time.Duration) notify.NotifiedKey {
	return notify.NotifiedKey{Org: org, Key: hash(b), FirstSent: base.Add(time.Duration(b) * time.Second), Expires: base.Add(expires),
		Repeats: repeats, Summary: summary}
}

// sameKey reports whether got and want are the same record.
func sameKey(got, want notify.NotifiedKey) bool {
	return got.Org == want.Org && got.Key == want.Key && got.FirstSent.Equal(want.FirstSent) &&
		got.Expires.Equal(want.Expires) && got.Repeats == want.Repeats && got.Summary == want.Summary
}

func (h keysHelper) commit(c notify.NotificationCommit) {
	h.t.Helper()
	if err := h.s.CommitNotifications(h.t.Context(), &c); err != nil {
		h.t.Fatalf("CommitNotifications: %v", err)
	}
}

func (h keysHelper) get(org string, now time.Time, keys ...byte) map[event.Hash]notify.NotifiedKey {
	h.t.Helper()
	var hs []event.Hash
	for _, b := range keys {
		hs = append(hs, hash(b))
	}
	got, err := h.s.GetNotifiedKeys(h.t.Context(), org, hs, now)
	if err != nil {
		h.t.Fatalf("GetNotifiedKeys: %v", err)
	}
	return got
}

func (h keysHelper) tally(org string, now time.Time) []notify.NotifiedKey {
	h.t.Helper()
	list, err := h.s.ListRepeatedKeys(h.t.Context(), org, now)
	if err != nil {
		h.t.Fatalf("ListRepeatedKeys: %v", err)
	}
	return list
}

func (h keysHelper) notified(now time.Time) []string {
	h.t.Helper()
	m, err := h.s.NotifiedOrganisations(h.t.Context(), now)
	if err != nil {
		h.t.Fatalf("NotifiedOrganisations: %v", err)
	}
	return slices.Sorted(maps.Keys(m))
}

func testNotifiedKeys(t *testing.T, st store.Store, s Notifier) {
	h := keysHelper{t, s}
	a2 := notifiedKeysTold(h)
	a1b := notifiedKeysToldAgain(h, a2)
	notifiedKeysTallies(h)
	notifiedKeysPruned(h, a1b)
	t.Run("told often", func(t *testing.T) { testKeysToldOften(keysHelper{t, s}) })
	t.Run("many", func(t *testing.T) { testManyKeys(keysHelper{t, s}) })
}

// notifiedKeysTold: keys are found until they expire, per organisation.
// It returns a's second key, which later steps expect unchanged.
func notifiedKeysTold(h keysHelper) notify.NotifiedKey {
	t := h.t
	a1, a2, a3 := toldKey("a", 1, 0, time.Hour), toldKey("a", 2, time.Second, 2*time.Hour), toldKey("a", 3, 0, -time.Hour)
	b1 := toldKey("b", 1, 0, 3*time.Hour)
	h.commit(notify.NotificationCommit{Told: []notify.NotifiedKey{a1, a2, a3, b1}})
	got := h.get("a", base, 1, 2, 3, 9)
	if len(got) != 2 || !sameKey(got[hash(1)], a1) || !sameKey(got[hash(2)], a2) {
		t.Errorf("a's keys at base = %+v, want %+v and %+v", got, a1, a2)
	}
	if got := h.get("a", base.Add(time.Hour), 1); len(got) != 0 {
		t.Errorf("a key at the moment it expires: %+v, want none", got)
	}
	if got := h.get("b", base, 1, 2); len(got) != 1 || !sameKey(got[hash(1)], b1) {
		t.Errorf("b's keys = %+v, want %+v", got, b1)
	}
	if got := h.get("a", base); len(got) != 0 {
		t.Errorf("no keys asked: %+v", got)
	}
	if got := h.notified(base); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("organisations told something at base = %v, want a b", got)
	}
	if got := h.notified(base.Add(2 * time.Hour)); !slices.Equal(got, []string{"b"}) {
		t.Errorf("organisations told something at +2h = %v, want b", got)
	}
	return a2
}

// notifiedKeysToldAgain: told again in a later commit, the newer record
// counts. It returns that newer record.
func notifiedKeysToldAgain(h keysHelper, a2 notify.NotifiedKey) notify.NotifiedKey {
	a1b := toldKey("a", 1, time.Hour, 5*time.Hour)
	h.commit(notify.NotificationCommit{Told: []notify.NotifiedKey{a1b}})
	if got := h.get("a", base, 1, 2); !sameKey(got[hash(1)], a1b) || !sameKey(got[hash(2)], a2) {
		h.t.Errorf("a's keys after telling key 1 again = %+v, want %+v and %+v", got, a1b, a2)
	}
	return a1b
}

// notifiedKeysTallies: the tallies are replaced per organisation,
// expired entries left out.
func notifiedKeysTallies(h keysHelper) {
	t := h.t
	if got := h.tally("", base); len(got) != 0 {
		t.Errorf("tallies before any = %+v", got)
	}
	ra2, ra3, rb1 := repeatedKey("a", 2, 3, "two", 2*time.Hour), repeatedKey("a", 3, 1, "expired", -time.Hour), repeatedKey("b", 1, 1, "b's one", 3*time.Hour)
	ra4 := repeatedKey("a", 4, 2, "four", 2*time.Hour)
	h.commit(notify.NotificationCommit{Repeats: map[string][]notify.NotifiedKey{"a": {ra4, ra3, ra2}, "b": {rb1}}})
	if got := h.tally("a", base); len(got) != 2 || !sameKey(got[0], ra2) || !sameKey(got[1], ra4) {
		t.Errorf("a's tally = %+v, want %+v then %+v (by first sent)", got, ra2, ra4)
	}
	if got := h.tally("", base); len(got) != 3 || got[0].Org != "a" || got[1].Org != "a" || !sameKey(got[2], rb1) {
		t.Errorf("every tally = %+v, want a's two then b's", got)
	}
	h.commit(notify.NotificationCommit{Repeats: map[string][]notify.NotifiedKey{"a": {}}})
	if got := h.tally("a", base); len(got) != 0 {
		t.Errorf("a's tally after clearing it = %+v", got)
	}
	rb1.Repeats = 2
	h.commit(notify.NotificationCommit{Repeats: map[string][]notify.NotifiedKey{"b": {rb1}}})
	if got := h.tally("b", base); len(got) != 1 || !sameKey(got[0], rb1) {
		t.Errorf("b's tally after replacing it = %+v, want %+v", got, rb1)
	}
}

// notifiedKeysPruned: pruning drops what expired: the first commit's
// keys are all gone at +4h; a1b, told later, stays.
func notifiedKeysPruned(h keysHelper, a1b notify.NotifiedKey) {
	t := h.t
	if err := h.s.PruneNotifiedKeys(t.Context(), base.Add(4*time.Hour)); err != nil {
		t.Fatalf("PruneNotifiedKeys: %v", err)
	}
	if got := h.get("a", base.Add(-48*time.Hour), 1, 2, 3); len(got) != 1 || !sameKey(got[hash(1)], a1b) {
		t.Errorf("a's keys after pruning at +4h = %+v, want only %+v", got, a1b)
	}
	if got := h.get("b", base.Add(-48*time.Hour), 1); len(got) != 0 {
		t.Errorf("b's key after pruning at +4h: %+v", got)
	}
}

// testKeysToldOften: more commits than the stores keep apart: pruning
// merges them, and the merged record of a key told twice is the newer
// one.
func testKeysToldOften(h keysHelper) {
	t := h.t
	for i := range 40 {
		h.commit(notify.NotificationCommit{Told: []notify.NotifiedKey{toldKey("often", byte(i%30), time.Duration(i)*time.Minute, 10*time.Hour)}})
	}
	check := func(when string) {
		t.Helper()
		var all []byte
		for i := range 30 {
			all = append(all, byte(i))
		}
		got := h.get("often", base, all...)
		if len(got) != 30 {
			t.Fatalf("%s: %d of 30 keys found", when, len(got))
		}
		for i := range 30 {
			last := i
			if i < 10 {
				last = i + 30
			}
			if want := base.Add(time.Duration(last) * time.Minute); !got[hash(byte(i))].FirstSent.Equal(want) {
				t.Errorf("%s: key %d first sent %v, want %v (the later)", when, i, got[hash(byte(i))].FirstSent, want)
			}
		}
	}
	check("before pruning")
	if err := h.s.PruneNotifiedKeys(t.Context(), base); err != nil {
		t.Fatal(err)
	}
	check("after pruning")
}

// testManyKeys: more keys than one statement of a store carries.
func testManyKeys(h keysHelper) {
	t := h.t
	var keys []notify.NotifiedKey
	var hs []event.Hash
	for i := range 1200 {
		k := event.Hash{byte(i), byte(i >> 8), 0x77}
		keys = append(keys, notify.NotifiedKey{Org: "many", Key: k, FirstSent: base, Expires: base.Add(time.Hour)})
		if i%2 == 0 {
			hs = append(hs, k)
		}
	}
	h.commit(notify.NotificationCommit{Told: keys})
	got, err := h.s.GetNotifiedKeys(t.Context(), "many", hs, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 600 {
		t.Errorf("GetNotifiedKeys of 600 keys found %d", len(got))
	}
}

// testDeletedOrganisationRecords: deleting an organisation deletes what
// it was told, its tally and its last-digest time (the notifier's hook,
// which the database gives the constituency, runs in the delete's
// transaction), and leaves another's alone.
func testDeletedOrganisationRecords(t *testing.T, st store.Store, s Notifier) {
	ctx := t.Context()
	a := createOrg(t, st, "a")
	createOrg(t, st, "b")
	key := func(org string) notify.NotifiedKey {
		return notify.NotifiedKey{Org: org, Key: hash(1), FirstSent: base, Expires: base.Add(time.Hour), Repeats: 2, Summary: "one"}
	}
	c := &notify.NotificationCommit{
		Told:    []notify.NotifiedKey{key("a"), key("b")},
		Repeats: map[string][]notify.NotifiedKey{"a": {key("a")}, "b": {key("b")}},
		State: map[string][]byte{
			told.LastDigestPrefix + "a": []byte("2026-01-01T00:00:00Z"),
			told.LastDigestPrefix + "b": []byte("2026-01-01T00:00:00Z"),
		},
	}
	if err := s.CommitNotifications(ctx, c); err != nil {
		t.Fatalf("CommitNotifications: %v", err)
	}
	if err := database.Constituency(st.DB()).DeleteOrganisation(ctx, a.ID); err != nil {
		t.Fatalf("DeleteOrganisation: %v", err)
	}
	for org, want := range map[string]int{"a": 0, "b": 1} {
		keys, err := s.GetNotifiedKeys(ctx, org, []event.Hash{hash(1)}, base)
		if err != nil || len(keys) != want {
			t.Errorf("%s's keys after deleting a: %+v, %v; want %d", org, keys, err, want)
		}
		tally, err := s.ListRepeatedKeys(ctx, org, base)
		if err != nil || len(tally) != want {
			t.Errorf("%s's tally after deleting a: %+v, %v; want %d entries", org, tally, err, want)
		}
	}
	if orgs, err := s.NotifiedOrganisations(ctx, base); err != nil || orgs["a"] || !orgs["b"] {
		t.Errorf("organisations told something after deleting a: %v, %v; want b only", orgs, err)
	}
	digests, err := st.ListState(ctx, told.LastDigestPrefix)
	if err != nil {
		t.Fatalf("ListState: %v", err)
	}
	if _, ok := digests[told.LastDigestPrefix+"b"]; !ok || len(digests) != 1 {
		t.Errorf("last-digest times after deleting a: %q; want b's only", slices.Sorted(maps.Keys(digests)))
	}
}

// refuseConsume makes the database refuse to delete entries of the queue
// of events to notify (a trigger, dropped by allowConsume), so that a
// commit fails at its last step.
func refuseConsume(t *testing.T, st store.Store) {
	t.Helper()
	script := `CREATE TRIGGER refuse_consume BEFORE DELETE ON notify_queue
		BEGIN SELECT RAISE(ABORT, 'consume refused'); END`
	if st.DB().Dialect() != sqlkit.SQLite {
		script = `CREATE FUNCTION refuse_consume() RETURNS trigger LANGUAGE plpgsql
			AS $$ BEGIN RAISE EXCEPTION 'consume refused'; END $$;
		CREATE TRIGGER refuse_consume BEFORE DELETE ON notify_queue
			FOR EACH ROW EXECUTE FUNCTION refuse_consume()`
	}
	if err := st.DB().Script(t.Context(), script); err != nil {
		t.Fatalf("create the trigger: %v", err)
	}
}

// allowConsume drops refuseConsume's trigger.
func allowConsume(t *testing.T, st store.Store) {
	t.Helper()
	script := `DROP TRIGGER refuse_consume`
	if st.DB().Dialect() != sqlkit.SQLite {
		script = `DROP TRIGGER refuse_consume ON notify_queue; DROP FUNCTION refuse_consume()`
	}
	if err := st.DB().Script(t.Context(), script); err != nil {
		t.Fatalf("drop the trigger: %v", err)
	}
}

// The shared helpers of the contract suites.
var (
	ev      = storetest.Event
	insert  = storetest.Insert
	pending = storetest.Pending
)
