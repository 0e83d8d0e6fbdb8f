package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
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

func testNotifyQueue(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := 0
	mk := func(orgs ...string) *event.Event {
		n++
		// Times out of order: the queue is in the order events were
		// stored, not by time.source.
		return tagged(t, ev(t, map[string]string{
			"time.source": event.FormatTime(base.Add(time.Duration(100-n) * time.Minute)),
			"source.ip":   fmt.Sprintf("10.0.%d.%d", n/250, n%250),
			"comment":     fmt.Sprint("e", n),
		}), orgs...)
	}
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
	t.Run("paging", func(t *testing.T) {
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
	})
	t.Run("stored again", func(t *testing.T) {
		// The same batch again (at-least-once delivery) with one new
		// event: only the new one is queued.
		again := append(slices.Clone(first), mk("a"))
		if got := insert(t, s, again, nil); got != 1 {
			t.Errorf("inserted %d, want 1", got)
		}
		if got := pendingCounts(t, s); got["a"] != 5 || got["b"] != 3 || got["c"] != 1 {
			t.Errorf("pending counts = %v, want a:5 b:3 c:1", got)
		}
		if got := pendingLabels(pending(t, s, "a")); !slices.Equal(got, []string{"e1", "e3", "e5", "e8", "e9"}) {
			t.Errorf("a's queue = %v, want e1 e3 e5 e8 e9", got)
		}
	})
	t.Run("consumed", func(t *testing.T) {
		a := pending(t, s, "a")
		// A seq consumed twice or never queued is no error.
		if err := s.CommitNotifications(ctx, &store.NotificationCommit{Done: map[string][]int64{"a": {a[0].Seq, a[2].Seq, a[0].Seq, 999999}}}); err != nil {
			t.Fatalf("CommitNotifications: %v", err)
		}
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
		if err := s.CommitNotifications(ctx, &store.NotificationCommit{Done: map[string][]int64{"a": done}}); err != nil {
			t.Fatal(err)
		}
		if got := pendingCounts(t, s); len(got) != 2 || got["a"] != 0 {
			t.Errorf("pending counts = %v, want a gone", got)
		}
		// A new event after the queue was emptied has a higher seq than
		// any before it.
		insert(t, s, []*event.Event{mk("a")}, nil)
		if p := pending(t, s, "a"); len(p) != 1 || p[0].Seq <= done[len(done)-1] {
			t.Errorf("a's queue = %+v, want one entry after seq %d", p, done[len(done)-1])
		}
	})
	t.Run("scanned at once", func(t *testing.T) {
		// The whole queue in one scan: the same entries as each
		// organisation's list, by event, with every organisation.
		want := map[int64][]string{}
		for _, c := range pendingList(t, s) {
			for _, p := range pending(t, s, c.Org) {
				want[p.Seq] = append(want[p.Seq], c.Org)
			}
		}
		var seqs []int64
		err := s.ScanPendingNotifications(ctx, func(r store.PendingRecord) error {
			seqs = append(seqs, r.Seq)
			if !slices.Equal(r.Orgs, want[r.Seq]) {
				t.Errorf("seq %d pending for %v, want %v", r.Seq, r.Orgs, want[r.Seq])
			}
			e, err := event.DecodeRecord(r.Record)
			if err != nil {
				t.Fatalf("seq %d: %v", r.Seq, err)
			}
			stored, err := s.GetEvent(ctx, r.Hash)
			if err != nil || !slices.Equal(e.Fields(), stored.Event.Fields()) || !r.Stored.Equal(stored.Stored) || e.Hash() != r.Hash {
				t.Errorf("seq %d: record %v stored %v, want the stored event %+v (%v)", r.Seq, e.Fields(), r.Stored, stored, err)
			}
			delete(want, r.Seq)
			return nil
		})
		if err != nil {
			t.Fatalf("ScanPendingNotifications: %v", err)
		}
		if len(want) > 0 || !slices.IsSorted(seqs) {
			t.Errorf("scan missed %v; order %v", want, seqs)
		}
		stop := errors.New("stop")
		calls := 0
		if err := s.ScanPendingNotifications(ctx, func(store.PendingRecord) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
			t.Errorf("an error from fn: %v after %d calls, want it returned after 1", err, calls)
		}
	})
	t.Run("deleting an organisation drops its queue", func(t *testing.T) {
		b := createOrg(t, s, newOrg("b"))
		if err := orgs(s).DeleteOrganisation(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		if got := pendingCounts(t, s); got["b"] != 0 || got["c"] != 1 {
			t.Errorf("pending counts = %v, want b gone and c kept", got)
		}
	})
	t.Run("many in one batch", func(t *testing.T) {
		var batch []*event.Event
		for i := range 2500 { // more than one statement of a store carries
			if i%2 == 0 {
				batch = append(batch, mk("m", "n"))
			} else {
				batch = append(batch, mk())
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
	})
}

func pendingList(t *testing.T, s store.Store) []store.PendingCount {
	t.Helper()
	list, err := s.PendingNotificationOrgs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func hash(b byte) event.Hash { return event.Hash{b, 0xee} }

func message(org string, orgID int64, messageID string, body string, events ...int64) store.OutboxMessage {
	return store.OutboxMessage{
		OrgID: orgID, Org: org, Kind: "digest", Sender: "cert@cert.example",
		Recipients: []string{"abuse@" + org + ".example", "soc@" + org + ".example"},
		Subject:    "[CERT] " + org, MessageID: messageID, Body: []byte(body), Events: len(events),
		Encrypted: true, EventIDs: events,
	}
}

func messageIDs(list []store.OutboxMessage) []int64 {
	out := make([]int64, len(list))
	for i, m := range list {
		out[i] = m.ID
	}
	return out
}

func testCommitNotifications(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := createOrg(t, s, newOrg("a"))
	var events []*event.Event
	for i := range 4 {
		events = append(events, tagged(t, ev(t, map[string]string{
			"time.source": event.FormatTime(base.Add(time.Duration(i) * time.Minute)),
			"source.ip":   fmt.Sprintf("192.0.2.%d", i),
			"comment":     fmt.Sprint("e", i),
		}), "a"))
	}
	insert(t, s, events, nil)
	queue := pending(t, s, "a")
	if len(queue) != 4 {
		t.Fatalf("a's queue has %d entries, want 4", len(queue))
	}
	h0, h1, h2 := events[0].Hash(), events[1].Hash(), events[2].Hash()
	id0, id1, id2 := queue[0].Seq, queue[1].Seq, queue[2].Seq
	key := func(b byte, valid time.Duration) store.NotifiedKey {
		return store.NotifiedKey{Org: "a", Key: hash(b), FirstSent: base, Expires: base.Add(valid)}
	}

	before := time.Now().Add(-time.Second)
	c := &store.NotificationCommit{
		Messages: []store.OutboxMessage{message("a", a.ID, "1.digest@cert.example", "From: cert\r\n\r\nbody one", id0, id1, id0)},
		Told:     []store.NotifiedKey{key(1, 24*time.Hour), key(2, 24*time.Hour)},
		State:    map[string][]byte{"test.commit.one": []byte("1"), "test.commit.empty": nil},
		Done:     map[string][]int64{"a": {queue[0].Seq, queue[1].Seq}},
	}
	if err := s.PutState(ctx, "test.commit.one", []byte("before")); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitNotifications(ctx, c); err != nil {
		t.Fatalf("CommitNotifications: %v", err)
	}
	for key, want := range map[string]string{"test.commit.one": "1", "test.commit.empty": ""} {
		if got, err := s.GetState(ctx, key); err != nil || got == nil || string(got) != want {
			t.Errorf("GetState(%s) after the commit = %q, %v; want %q", key, got, err, want)
		}
	}
	m := c.Messages[0]
	if m.ID == 0 || m.Size != len(m.Body) || m.Status != store.MessageQueued || m.Created.Before(before) || !m.NextAttempt.Equal(m.Created) {
		t.Errorf("committed message = %+v: want an ID, the size, queued, created now and due at once", m)
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
		list, err := s.ListMessages(ctx, store.MessageQuery{EventHash: tt.hash})
		if err != nil {
			t.Fatalf("ListMessages: %v", err)
		}
		if got := messageIDs(list); !slices.Equal(got, tt.want) {
			t.Errorf("messages reporting %s = %v, want %v", tt.hash, got, tt.want)
		}
	}
	keys, err := s.GetNotifiedKeys(ctx, "a", []event.Hash{hash(1), hash(2), hash(3)}, base)
	if err != nil {
		t.Fatalf("GetNotifiedKeys: %v", err)
	}
	if len(keys) != 2 || !keys[hash(1)].Expires.Equal(base.Add(24*time.Hour)) || !keys[hash(2)].FirstSent.Equal(base) || keys[hash(1)].Org != "a" {
		t.Errorf("keys after the commit = %+v", keys)
	}
	if got := pendingLabels(pending(t, s, "a")); !slices.Equal(got, []string{"e2", "e3"}) {
		t.Errorf("a's queue = %v, want e2 e3", got)
	}

	t.Run("all or nothing", func(t *testing.T) {
		queue := pending(t, s, "a")
		for name, msgs := range map[string][]store.OutboxMessage{
			"a Message-ID already queued": {message("a", a.ID, "2.digest@cert.example", "two", id2), message("a", a.ID, "1.digest@cert.example", "dup", id2)},
			"a Message-ID twice":          {message("a", a.ID, "3.digest@cert.example", "three", id2), message("a", a.ID, "3.digest@cert.example", "dup")},
		} {
			c := &store.NotificationCommit{
				Messages: msgs,
				Told:     []store.NotifiedKey{key(3, time.Hour), key(1, 48*time.Hour)},
				Repeats:  map[string][]store.NotifiedKey{"a": {{Org: "a", Key: hash(2), FirstSent: base, Expires: base.Add(time.Hour), Repeats: 1, Summary: "x"}}},
				State:    map[string][]byte{"test.commit.one": []byte("changed"), "test.commit.failed": []byte("x")},
				Done:     map[string][]int64{"a": {queue[0].Seq}},
			}
			err := s.CommitNotifications(ctx, c)
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("%s: CommitNotifications = %v, want ErrConflict", name, err)
			}
			if c.Messages[0].ID != 0 || c.Messages[0].Size != 0 {
				t.Errorf("%s: the failed commit set message %+v", name, c.Messages[0])
			}
			list, err := s.ListMessages(ctx, store.MessageQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if got := messageIDs(list); !slices.Equal(got, []int64{m.ID}) {
				t.Errorf("%s: messages after a failed commit = %v, want only %d", name, got, m.ID)
			}
			if list, _ := s.ListMessages(ctx, store.MessageQuery{EventHash: h2}); len(list) != 0 {
				t.Errorf("%s: a failed commit left the events of its messages", name)
			}
			keys, err := s.GetNotifiedKeys(ctx, "a", []event.Hash{hash(1), hash(3)}, base)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := keys[hash(3)]; ok || !keys[hash(1)].Expires.Equal(base.Add(24*time.Hour)) {
				t.Errorf("%s: keys after a failed commit = %+v", name, keys)
			}
			if tally, err := s.ListRepeatedKeys(ctx, "a", base); err != nil || len(tally) != 0 {
				t.Errorf("%s: tally after a failed commit = %+v, %v", name, tally, err)
			}
			if got := pendingLabels(pending(t, s, "a")); !slices.Equal(got, []string{"e2", "e3"}) {
				t.Errorf("%s: a's queue after a failed commit = %v, want e2 e3", name, got)
			}
			if got, err := s.GetState(ctx, "test.commit.one"); err != nil || string(got) != "1" {
				t.Errorf("%s: state after a failed commit = %q, %v; want the committed 1", name, got, err)
			}
			if _, err := s.GetState(ctx, "test.commit.failed"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: GetState of a key of the failed commit = %v, want ErrNotFound", name, err)
			}
		}
	})

	// More rows than one statement of a store carries, with a last chunk
	// that is not full.
	t.Run("large", func(t *testing.T) {
		big := createOrg(t, s, newOrg("big"))
		var batch []*event.Event
		for i := range 1234 {
			batch = append(batch, tagged(t, ev(t, map[string]string{
				"time.source": event.FormatTime(base.Add(time.Duration(i) * time.Second)),
				"source.ip":   fmt.Sprintf("198.51.%d.%d", i/256, i%256),
			}), "big"))
		}
		insert(t, s, batch, nil)
		queue := pending(t, s, "big")
		if len(queue) != len(batch) {
			t.Fatalf("big's queue has %d entries, want %d", len(queue), len(batch))
		}
		c := &store.NotificationCommit{State: map[string][]byte{}}
		for i := range 3 {
			var ids []int64
			for _, p := range queue[i*400 : min(i*400+450, len(queue))] {
				ids = append(ids, p.Seq)
			}
			c.Messages = append(c.Messages, message("big", big.ID, fmt.Sprintf("%d.large@cert.example", i), "x", ids...))
		}
		for i := range 777 {
			c.Told = append(c.Told, store.NotifiedKey{Org: "big", Key: event.Hash{byte(i), byte(i >> 8), 0x55},
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
			list, err := s.ListMessages(ctx, store.MessageQuery{EventHash: batch[i].Hash()})
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for j := 2; j >= 0; j-- {
				if i >= j*400 && i < j*400+450 {
					want = append(want, c.Messages[j].ID)
				}
			}
			if got := messageIDs(list); !slices.Equal(got, want) {
				t.Errorf("messages reporting event %d = %v, want %v", i, got, want)
			}
		}
		var hs []event.Hash
		for _, k := range c.Told {
			hs = append(hs, k.Key)
		}
		keys, err := s.GetNotifiedKeys(ctx, "big", hs, base)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 777 || !keys[twice.Key].Expires.Equal(twice.Expires) {
			t.Errorf("GetNotifiedKeys found %d keys (want 777), the one given twice expires %v (want the last, %v)", len(keys), keys[twice.Key].Expires, twice.Expires)
		}
		for _, i := range []int{0, 500, 776} {
			if got, err := s.GetState(ctx, fmt.Sprintf("test.large.%d", i)); err != nil || string(got) != fmt.Sprint(i) {
				t.Errorf("GetState(test.large.%d) = %q, %v", i, got, err)
			}
		}
		if got := pending(t, s, "big"); len(got) != 0 {
			t.Errorf("big's queue has %d entries after consuming all, want 0", len(got))
		}
	})

	t.Run("messages without a Message-ID", func(t *testing.T) {
		c := &store.NotificationCommit{Messages: []store.OutboxMessage{message("a", a.ID, "", "x"), message("a", a.ID, "", "y")}}
		if err := s.CommitNotifications(ctx, c); err != nil {
			t.Fatalf("CommitNotifications: %v", err)
		}
		if c.Messages[0].ID == 0 || c.Messages[1].ID <= c.Messages[0].ID {
			t.Errorf("IDs %d, %d", c.Messages[0].ID, c.Messages[1].ID)
		}
	})
}

func testNotifiedKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	told := func(org string, b byte, first, expires time.Duration) store.NotifiedKey {
		return store.NotifiedKey{Org: org, Key: hash(b), FirstSent: base.Add(first), Expires: base.Add(expires)}
	}
	repeated := func(org string, b byte, repeats int, summary string, expires time.Duration) store.NotifiedKey {
		return store.NotifiedKey{Org: org, Key: hash(b), FirstSent: base.Add(time.Duration(b) * time.Second), Expires: base.Add(expires),
			Repeats: repeats, Summary: summary}
	}
	commit := func(c store.NotificationCommit) {
		t.Helper()
		if err := s.CommitNotifications(ctx, &c); err != nil {
			t.Fatalf("CommitNotifications: %v", err)
		}
	}
	get := func(org string, now time.Time, keys ...byte) map[event.Hash]store.NotifiedKey {
		t.Helper()
		var hs []event.Hash
		for _, b := range keys {
			hs = append(hs, hash(b))
		}
		got, err := s.GetNotifiedKeys(ctx, org, hs, now)
		if err != nil {
			t.Fatalf("GetNotifiedKeys: %v", err)
		}
		return got
	}
	same := func(got, want store.NotifiedKey) bool {
		return got.Org == want.Org && got.Key == want.Key && got.FirstSent.Equal(want.FirstSent) &&
			got.Expires.Equal(want.Expires) && got.Repeats == want.Repeats && got.Summary == want.Summary
	}
	tally := func(org string, now time.Time) []store.NotifiedKey {
		t.Helper()
		list, err := s.ListRepeatedKeys(ctx, org, now)
		if err != nil {
			t.Fatalf("ListRepeatedKeys: %v", err)
		}
		return list
	}
	notified := func(now time.Time) []string {
		t.Helper()
		m, err := s.NotifiedOrganisations(ctx, now)
		if err != nil {
			t.Fatalf("NotifiedOrganisations: %v", err)
		}
		return slices.Sorted(maps.Keys(m))
	}

	a1, a2, a3 := told("a", 1, 0, time.Hour), told("a", 2, time.Second, 2*time.Hour), told("a", 3, 0, -time.Hour)
	b1 := told("b", 1, 0, 3*time.Hour)
	commit(store.NotificationCommit{Told: []store.NotifiedKey{a1, a2, a3, b1}})
	got := get("a", base, 1, 2, 3, 9)
	if len(got) != 2 || !same(got[hash(1)], a1) || !same(got[hash(2)], a2) {
		t.Errorf("a's keys at base = %+v, want %+v and %+v", got, a1, a2)
	}
	if got := get("a", base.Add(time.Hour), 1); len(got) != 0 {
		t.Errorf("a key at the moment it expires: %+v, want none", got)
	}
	if got := get("b", base, 1, 2); len(got) != 1 || !same(got[hash(1)], b1) {
		t.Errorf("b's keys = %+v, want %+v", got, b1)
	}
	if got := get("a", base); len(got) != 0 {
		t.Errorf("no keys asked: %+v", got)
	}
	if got := notified(base); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("organisations told something at base = %v, want a b", got)
	}
	if got := notified(base.Add(2 * time.Hour)); !slices.Equal(got, []string{"b"}) {
		t.Errorf("organisations told something at +2h = %v, want b", got)
	}

	// Told again in a later commit: the newer record counts.
	a1b := told("a", 1, time.Hour, 5*time.Hour)
	commit(store.NotificationCommit{Told: []store.NotifiedKey{a1b}})
	if got := get("a", base, 1, 2); !same(got[hash(1)], a1b) || !same(got[hash(2)], a2) {
		t.Errorf("a's keys after telling key 1 again = %+v, want %+v and %+v", got, a1b, a2)
	}

	// The tallies: replaced per organisation, expired entries left out.
	if got := tally("", base); len(got) != 0 {
		t.Errorf("tallies before any = %+v", got)
	}
	ra2, ra3, rb1 := repeated("a", 2, 3, "two", 2*time.Hour), repeated("a", 3, 1, "expired", -time.Hour), repeated("b", 1, 1, "b's one", 3*time.Hour)
	ra4 := repeated("a", 4, 2, "four", 2*time.Hour)
	commit(store.NotificationCommit{Repeats: map[string][]store.NotifiedKey{"a": {ra4, ra3, ra2}, "b": {rb1}}})
	if got := tally("a", base); len(got) != 2 || !same(got[0], ra2) || !same(got[1], ra4) {
		t.Errorf("a's tally = %+v, want %+v then %+v (by first sent)", got, ra2, ra4)
	}
	if got := tally("", base); len(got) != 3 || got[0].Org != "a" || got[1].Org != "a" || !same(got[2], rb1) {
		t.Errorf("every tally = %+v, want a's two then b's", got)
	}
	commit(store.NotificationCommit{Repeats: map[string][]store.NotifiedKey{"a": {}}})
	if got := tally("a", base); len(got) != 0 {
		t.Errorf("a's tally after clearing it = %+v", got)
	}
	rb1.Repeats = 2
	commit(store.NotificationCommit{Repeats: map[string][]store.NotifiedKey{"b": {rb1}}})
	if got := tally("b", base); len(got) != 1 || !same(got[0], rb1) {
		t.Errorf("b's tally after replacing it = %+v, want %+v", got, rb1)
	}

	// Pruning drops what expired: the first commit's keys are all gone at
	// +4h; a1b, told later, stays.
	if err := s.PruneNotifiedKeys(ctx, base.Add(4*time.Hour)); err != nil {
		t.Fatalf("PruneNotifiedKeys: %v", err)
	}
	if got := get("a", base.Add(-48*time.Hour), 1, 2, 3); len(got) != 1 || !same(got[hash(1)], a1b) {
		t.Errorf("a's keys after pruning at +4h = %+v, want only %+v", got, a1b)
	}
	if got := get("b", base.Add(-48*time.Hour), 1); len(got) != 0 {
		t.Errorf("b's key after pruning at +4h: %+v", got)
	}

	t.Run("told often", func(t *testing.T) {
		// More commits than the stores keep apart: pruning merges them,
		// and the merged record of a key told twice is the newer one.
		for i := range 40 {
			commit(store.NotificationCommit{Told: []store.NotifiedKey{told("often", byte(i%30), time.Duration(i)*time.Minute, 10*time.Hour)}})
		}
		check := func(when string) {
			t.Helper()
			var all []byte
			for i := range 30 {
				all = append(all, byte(i))
			}
			got := get("often", base, all...)
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
		if err := s.PruneNotifiedKeys(ctx, base); err != nil {
			t.Fatal(err)
		}
		check("after pruning")
	})

	t.Run("many", func(t *testing.T) {
		var keys []store.NotifiedKey
		var hs []event.Hash
		for i := range 1200 {
			h := event.Hash{byte(i), byte(i >> 8), 0x77}
			keys = append(keys, store.NotifiedKey{Org: "many", Key: h, FirstSent: base, Expires: base.Add(time.Hour)})
			if i%2 == 0 {
				hs = append(hs, h)
			}
		}
		commit(store.NotificationCommit{Told: keys})
		got, err := s.GetNotifiedKeys(ctx, "many", hs, base)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 600 {
			t.Errorf("GetNotifiedKeys of 600 keys found %d", len(got))
		}
	})
}
