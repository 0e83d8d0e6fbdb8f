package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/queuesql"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

func pendingCounts(t *testing.T, s store.Store) map[string]int64 {
	t.Helper()
	list, err := s.PendingNotificationOrgs(t.Context())
	if err != nil {
		t.Fatalf("PendingNotificationOrgs: %v", err)
	}
	out := map[string]int64{}
	for i, c := range list {
		if i > 0 && list[i-1].Org >= c.Org {
			t.Errorf("PendingNotificationOrgs not by handle: %s before %s", list[i-1].Org, c.Org)
		}
		out[c.Org] = c.Count
	}
	return out
}

func pending(t *testing.T, s store.Store, org string) []store.PendingNotification {
	t.Helper()
	list, err := s.ListPendingNotifications(t.Context(), org, 0, 10000)
	if err != nil {
		t.Fatalf("ListPendingNotifications(%s): %v", org, err)
	}
	return list
}

func pendingLabels(list []store.PendingNotification) []string {
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = p.Event.Value("comment")
	}
	return out
}

// queueEvents makes the events of testNotifyQueue, numbered in the order
// they are made.
type queueEvents struct{ n int }

// event makes the next event, tagged with orgs. Its time is out of
// order: the queue is in the order events were stored, not by
// time.source.
func (q *queueEvents) event(t *testing.T, orgs ...string) *event.Event {
	q.n++
	n := q.n
	e := tagged(t, ev(t, map[string]string{
		"time.source": event.FormatTime(base.Add(time.Duration(100-n) * time.Minute)),
		"source.ip":   fmt.Sprintf("10.0.%d.%d", n/250, n%250),
		"comment":     fmt.Sprint("e", n),
	}), orgs...)
	if n%2 == 0 {
		// A raw line, which the scan may leave out.
		e.SetRawString(fmt.Sprintf("ts,ip,comment\n%s,10.0.%d.%d,e%d", base.Format(time.DateTime), n/250, n%250, n))
	}
	return e
}

func testNotifyQueue(t *testing.T, s store.Store) {
	q := &queueEvents{}
	first, a := queueFirstEvents(t, s, q)
	t.Run("paging", func(t *testing.T) { testQueuePaging(t, s, a) })
	t.Run("stored again", func(t *testing.T) { testQueueStoredAgain(t, s, q, first) })
	t.Run("consumed", func(t *testing.T) { testQueueConsumed(t, s, q) })
	t.Run("scanned at once", func(t *testing.T) { testQueueScanned(t, s) })
	t.Run("deleting an organisation drops its queue", func(t *testing.T) {
		b := createOrg(t, s, newOrg("b"))
		if err := orgs(s).DeleteOrganisation(t.Context(), b.ID); err != nil {
			t.Fatal(err)
		}
		if got := pendingCounts(t, s); got["b"] != 0 || got["c"] != 1 {
			t.Errorf("pending counts = %v, want b gone and c kept", got)
		}
	})
	t.Run("many in one batch", func(t *testing.T) { testQueueManyInBatch(t, s, q) })
	t.Run("scanned at once, more than pages hold", func(t *testing.T) {
		var batch []*event.Event
		for i := range 2*store.PendingPageEvents + 100 {
			if i%3 == 0 {
				batch = append(batch, q.event(t, "p", "q"))
			} else {
				batch = append(batch, q.event(t, "p"))
			}
		}
		insert(t, s, batch, nil)
		testQueueScanned(t, s)
	})
	t.Run("horizon", func(t *testing.T) { testQueueHorizon(t, s, q) })
}

// testQueueHorizon: with no insert in progress, NotifyHorizon is at or
// above every queued entry, and an entry queued after it is above it.
func testQueueHorizon(t *testing.T, s store.Store, q *queueEvents) {
	horizon, err := s.NotifyHorizon(t.Context())
	if err != nil {
		t.Fatalf("NotifyHorizon: %v", err)
	}
	var last int64
	for _, c := range pendingList(t, s) {
		last = max(last, c.Last)
	}
	if horizon < last {
		t.Errorf("NotifyHorizon = %d, below the last entry queued, %d", horizon, last)
	}
	insert(t, s, []*event.Event{q.event(t, "h")}, nil)
	for _, c := range pendingList(t, s) {
		if c.Org != "h" {
			continue
		}
		if c.Last <= horizon {
			t.Errorf("an entry queued after NotifyHorizon returned %d has seq %d", horizon, c.Last)
		}
		consume(t, s, map[string][]int64{"h": {c.Last}}) // the subtests after count the queue
	}
}

// queueFirstEvents stores eight events for organisations a, b and c (and
// none) and checks the queue of each. It returns the events and a's
// queue.
func queueFirstEvents(t *testing.T, s store.Store, q *queueEvents) ([]*event.Event, []store.PendingNotification) {
	ctx := t.Context()
	mk := func(orgs ...string) *event.Event { return q.event(t, orgs...) }
	before := time.Now().Add(-time.Second)
	first := []*event.Event{mk("a"), mk("b"), mk("a", "b"), mk(), mk("a"), mk(), mk("b", "c"), mk("a")}
	insert(t, s, first, nil)
	after := time.Now().Add(time.Second)
	if got := pendingCounts(t, s); len(got) != 3 || got["a"] != 4 || got["b"] != 3 || got["c"] != 1 {
		t.Errorf("pending counts = %v, want a:4 b:3 c:1", got)
	}
	list, err := s.PendingNotificationOrgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.Oldest.Before(before) || c.Oldest.After(after) {
			t.Errorf("%s: oldest pending stored %v, want about now", c.Org, c.Oldest)
		}
		if q := pending(t, s, c.Org); c.First != q[0].Seq || c.Last != q[len(q)-1].Seq {
			t.Errorf("%s: first and last pending %d and %d, want %d and %d", c.Org, c.First, c.Last, q[0].Seq, q[len(q)-1].Seq)
		}
	}
	a := pending(t, s, "a")
	if got := pendingLabels(a); !slices.Equal(got, []string{"e1", "e3", "e5", "e8"}) {
		t.Errorf("a's queue = %v, want e1 e3 e5 e8", got)
	}
	for i, p := range a {
		if i > 0 && p.Seq <= a[i-1].Seq {
			t.Errorf("seq %d after %d", p.Seq, a[i-1].Seq)
		}
		stored, err := s.GetEvent(ctx, p.Hash)
		if err != nil {
			t.Fatalf("GetEvent(%s): %v", p.Hash, err)
		}
		// The queue keeps the event without what notifications never send.
		want := stored.Event.Clone()
		store.WithoutWithheld(want)
		if p.Org != "a" || !p.Stored.Equal(stored.Stored) || !slices.Equal(p.Event.Fields(), want.Fields()) {
			t.Errorf("pending %+v, want org a and the stored event %+v without raw and extra.constituency", p, stored)
		}
	}
	return first, a
}

// testQueuePaging: a queue is listed after a seq, up to a limit.
func testQueuePaging(t *testing.T, s store.Store, a []store.PendingNotification) {
	ctx := t.Context()
	page, err := s.ListPendingNotifications(ctx, "a", a[0].Seq, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := pendingLabels(page); !slices.Equal(got, []string{"e3", "e5"}) {
		t.Errorf("a after seq %d, limit 2 = %v, want e3 e5", a[0].Seq, got)
	}
	if page, _ := s.ListPendingNotifications(ctx, "a", a[3].Seq, 0); len(page) != 0 {
		t.Errorf("after the last seq: %v", pendingLabels(page))
	}
	if page, _ := s.ListPendingNotifications(ctx, "nobody", 0, 0); len(page) != 0 {
		t.Errorf("queue of an organisation without events: %v", pendingLabels(page))
	}
}

// testQueueStoredAgain: the same batch again (at-least-once delivery)
// with one new event: only the new one is queued.
func testQueueStoredAgain(t *testing.T, s store.Store, q *queueEvents, first []*event.Event) {
	again := append(slices.Clone(first), q.event(t, "a"))
	if got := insert(t, s, again, nil); got != 1 {
		t.Errorf("inserted %d, want 1", got)
	}
	if got := pendingCounts(t, s); got["a"] != 5 || got["b"] != 3 || got["c"] != 1 {
		t.Errorf("pending counts = %v, want a:5 b:3 c:1", got)
	}
	if got := pendingLabels(pending(t, s, "a")); !slices.Equal(got, []string{"e1", "e3", "e5", "e8", "e9"}) {
		t.Errorf("a's queue = %v, want e1 e3 e5 e8 e9", got)
	}
}

// testQueueConsumed: consuming takes entries off the queue, in the
// transaction that consumes them.
func testQueueConsumed(t *testing.T, s store.Store, q *queueEvents) {
	ctx := t.Context()
	a := pending(t, s, "a")
	// Consumed in a transaction that then fails (a crash before the
	// notifier's commit): everything stays pending.
	boom := errors.New("boom")
	err := s.DB().Tx(ctx, func(tx sqlkit.DB) error {
		if err := queuesql.ConsumePending(ctx, tx, map[string][]int64{"a": {a[0].Seq, a[1].Seq}, "b": {a[1].Seq}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("a failed transaction: %v", err)
	}
	if got := pendingLabels(pending(t, s, "a")); !slices.Equal(got, []string{"e1", "e3", "e5", "e8", "e9"}) {
		t.Errorf("a's queue after a failed transaction = %v, want all of it", got)
	}
	// A seq consumed twice or never queued is no error.
	consume(t, s, map[string][]int64{"a": {a[0].Seq, a[2].Seq, a[0].Seq, 999999}})
	if got := pendingLabels(pending(t, s, "a")); !slices.Equal(got, []string{"e3", "e8", "e9"}) {
		t.Errorf("a's queue after consuming e1 and e5 = %v, want e3 e8 e9", got)
	}
	if got := pendingLabels(pending(t, s, "b")); !slices.Equal(got, []string{"e2", "e3", "e7"}) {
		t.Errorf("b's queue = %v, want e2 e3 e7 (untouched)", got)
	}
	var done []int64
	for _, p := range pending(t, s, "a") {
		done = append(done, p.Seq)
	}
	consume(t, s, map[string][]int64{"a": done})
	if got := pendingCounts(t, s); len(got) != 2 || got["a"] != 0 {
		t.Errorf("pending counts = %v, want a gone", got)
	}
	// A new event after the queue was emptied has a higher seq than
	// any before it.
	insert(t, s, []*event.Event{q.event(t, "a")}, nil)
	if p := pending(t, s, "a"); len(p) != 1 || p[0].Seq <= done[len(done)-1] {
		t.Errorf("a's queue = %+v, want one entry after seq %d", p, done[len(done)-1])
	}
}

// testQueueScanned: the whole queue in one scan: the same entries as
// each organisation's list, by event, with every organisation, a page at
// a time, each page's columns of one length and its organisations named
// by index into a list that only grows.
func testQueueScanned(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := map[int64][]string{}
	for _, c := range pendingList(t, s) {
		for _, p := range pending(t, s, c.Org) {
			want[p.Seq] = append(want[p.Seq], c.Org)
		}
	}
	var (
		seqs  []int64
		named []string // the organisations the pages named so far
		pages int
		// kept are the records of the pages handed over Kept, and a copy
		// of each: the store must not write to them again.
		kept, copies [][]byte
	)
	err := s.ScanPendingNotifications(ctx, func(page *store.PendingPage) error {
		pages++
		if page.Kept {
			kept, copies = append(kept, page.Records), append(copies, slices.Clone(page.Records))
		}
		n := page.Len()
		if n == 0 || (len(page.Hash) != n && len(page.Hash) != 0) || len(page.Stored) != n || len(page.RecordEnds) != n || len(page.Gone) != n || len(page.WaitingEnds) != n {
			t.Fatalf("page %d: %d events, columns of %d %d %d %d %d", pages, n, len(page.Hash), len(page.Stored), len(page.RecordEnds), len(page.Gone), len(page.WaitingEnds))
		}
		if len(page.Orgs) < len(named) || !slices.Equal(page.Orgs[:len(named)], named) {
			t.Errorf("page %d names organisations %v, after %v", pages, page.Orgs, named)
		}
		named = slices.Clone(page.Orgs)
		for i := range n {
			seq := page.Seq[i]
			seqs = append(seqs, seq)
			var orgs []string
			for _, o := range page.OrgsOf(i) {
				orgs = append(orgs, page.Orgs[o])
			}
			if !slices.Equal(orgs, want[seq]) {
				t.Errorf("seq %d pending for %v, want %v", seq, orgs, want[seq])
			}
			if page.Gone[i] || page.Record(i) == nil {
				t.Errorf("seq %d: gone, want its event", seq)
				continue
			}
			e, err := event.DecodeRecord(page.Record(i))
			if err != nil {
				t.Fatalf("seq %d: %v", seq, err)
			}
			hash := page.HashOf(i)
			if hash == (event.Hash{}) {
				hash = e.Hash() // a store that does not keep it beside the record
			}
			stored, err := s.GetEvent(ctx, hash)
			if err == nil && !e.Has("raw") {
				stored.Event.Delete("raw") // the scan may leave it out
			}
			if err != nil || !slices.Equal(e.Fields(), stored.Event.Fields()) || page.Stored[i] != stored.Stored.UnixMicro() || e.Hash() != hash {
				t.Errorf("seq %d: record %v stored %v, want the stored event %+v (%v)", seq, e.Fields(), page.Stored[i], stored, err)
			}
			delete(want, seq)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ScanPendingNotifications: %v", err)
	}
	if len(want) > 0 || !slices.IsSorted(seqs) || len(slices.Compact(slices.Clone(seqs))) != len(seqs) {
		t.Errorf("scan missed %v; order %v", want, seqs)
	}
	if len(seqs) > 2*store.PendingPageEvents && pages < 2 {
		t.Errorf("%d events in %d page, want them paged", len(seqs), pages)
	}
	for i := range kept {
		if !bytes.Equal(kept[i], copies[i]) {
			t.Errorf("the records of kept page %d of %d changed after it was handed over", i+1, len(kept))
		}
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.ScanPendingNotifications(ctx, func(*store.PendingPage) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("an error from fn: %v after %d calls, want it returned after 1", err, calls)
	}
}

// testQueueManyInBatch: more events in one batch than one statement of
// a store carries are queued, in the order of the batch.
func testQueueManyInBatch(t *testing.T, s store.Store, q *queueEvents) {
	var batch []*event.Event
	for i := range 2500 {
		if i%2 == 0 {
			batch = append(batch, q.event(t, "m", "n"))
		} else {
			batch = append(batch, q.event(t))
		}
	}
	insert(t, s, batch, nil)
	if got := pendingCounts(t, s); got["m"] != 1250 || got["n"] != 1250 {
		t.Errorf("pending counts = %v, want m:1250 n:1250", got)
	}
	m := pending(t, s, "m")
	for i := range m {
		if want := batch[2*i].Value("comment"); m[i].Event.Value("comment") != want || m[i].Hash != batch[2*i].Hash() {
			t.Fatalf("m's queue entry %d is %s (%s), want %s (%s; the order of the batch)", i, m[i].Event.Value("comment"), m[i].Hash, want, batch[2*i].Hash())
		}
	}
}

func pendingList(t *testing.T, s store.Store) []store.PendingCount {
	t.Helper()
	list, err := s.PendingNotificationOrgs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// consume removes the queue entries done names, in a transaction of the
// test's, as the notifier's commit does in its own.
func consume(t *testing.T, s store.Store, done map[string][]int64) {
	t.Helper()
	if err := s.DB().Tx(t.Context(), func(tx sqlkit.DB) error { return queuesql.ConsumePending(t.Context(), tx, done) }); err != nil {
		t.Fatalf("ConsumePending: %v", err)
	}
}
