package storetest

// The contract for the outbox of notification messages and for the
// notification policies and templates.

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

func testOutbox(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := createOrg(t, s, newOrg("a"))
	b := createOrg(t, s, newOrg("b"))
	// Event 1 concerns both organisations, event 2 only b.
	e1 := tagged(t, ev(t, map[string]string{"time.source": event.FormatTime(base), "source.ip": "192.0.2.1", "comment": "one"}), "a", "b")
	e2 := tagged(t, ev(t, map[string]string{"time.source": event.FormatTime(base), "source.ip": "192.0.2.2", "comment": "two"}), "b")
	insert(t, s, []*event.Event{e1, e2}, nil)
	idOf := map[event.Hash]int64{}
	for _, p := range pending(t, s, "b") {
		idOf[p.Hash] = p.Seq
	}
	h1, h2 := e1.Hash(), e2.Hash()
	m1 := message("a", a.ID, "1@cert.example", "body one", idOf[h1])
	m1.Created, m1.NextAttempt = base.Add(-2*time.Hour), base
	m2 := message("b", b.ID, "2@cert.example", "body two", idOf[h1], idOf[h2])
	m2.Created, m2.NextAttempt = base.Add(-time.Hour), base.Add(time.Hour)
	m3 := message("a", a.ID, "3@cert.example", "body three")
	m3.Created, m3.NextAttempt = base.Add(-3*time.Hour), base.Add(-time.Hour)
	m3.Kind = "immediate"
	c := &store.NotificationCommit{Messages: []store.OutboxMessage{m1, m2, m3}}
	if err := s.CommitNotifications(ctx, c); err != nil {
		t.Fatalf("CommitNotifications: %v", err)
	}
	m1, m2, m3 = c.Messages[0], c.Messages[1], c.Messages[2]
	due := func(now time.Time, limit int) []int64 {
		t.Helper()
		list, err := s.DueMessages(ctx, now, limit)
		if err != nil {
			t.Fatalf("DueMessages: %v", err)
		}
		for _, m := range list {
			if m.Status != store.MessageQueued || m.NextAttempt.After(now) || len(m.Body) == 0 || m.Size != len(m.Body) {
				t.Errorf("due message %+v at %v", m, now)
			}
		}
		return messageIDs(list)
	}
	status := func(id int64) store.OutboxMessage {
		t.Helper()
		m, err := s.GetMessage(ctx, id)
		if err != nil {
			t.Fatalf("GetMessage(%d): %v", id, err)
		}
		return m
	}
	if got := due(base, 0); !slices.Equal(got, []int64{m1.ID, m3.ID}) {
		t.Errorf("due at base = %v, want %d %d (oldest first)", got, m1.ID, m3.ID)
	}
	if got := due(base.Add(-time.Minute), 0); !slices.Equal(got, []int64{m3.ID}) {
		t.Errorf("due a minute earlier = %v, want %d", got, m3.ID)
	}
	if got := due(base.Add(time.Hour), 2); !slices.Equal(got, []int64{m1.ID, m2.ID}) {
		t.Errorf("due at +1h, limit 2 = %v, want %d %d", got, m1.ID, m2.ID)
	}
	if list, _ := s.DueMessages(ctx, base, 0); len(list) > 0 && !bytes.Equal(list[0].Body, []byte("body one")) {
		t.Errorf("due message body = %q", list[0].Body)
	}

	t.Run("retry", func(t *testing.T) {
		if err := s.RetryMessage(ctx, m1.ID, 1, base.Add(30*time.Minute), "421 try again later"); err != nil {
			t.Fatalf("RetryMessage: %v", err)
		}
		if got := due(base, 0); !slices.Equal(got, []int64{m3.ID}) {
			t.Errorf("due at base after a retry = %v, want %d", got, m3.ID)
		}
		if got := due(base.Add(30*time.Minute), 0); !slices.Equal(got, []int64{m1.ID, m3.ID}) {
			t.Errorf("due at +30m = %v, want %d %d", got, m1.ID, m3.ID)
		}
		m := status(m1.ID)
		if m.Status != store.MessageQueued || m.Attempts != 1 || m.LastError != "421 try again later" || !m.NextAttempt.Equal(base.Add(30*time.Minute)) {
			t.Errorf("after RetryMessage: %+v", m)
		}
	})
	t.Run("sent", func(t *testing.T) {
		if err := s.MarkMessageSent(ctx, m3.ID, base.Add(time.Minute), "250 2.0.0 Ok: queued as 4Xyz"); err != nil {
			t.Fatalf("MarkMessageSent: %v", err)
		}
		m := status(m3.ID)
		if m.Status != store.MessageSent || !m.Sent.Equal(base.Add(time.Minute)) || m.Reply != "250 2.0.0 Ok: queued as 4Xyz" || m.Attempts != 1 {
			t.Errorf("after MarkMessageSent: %+v", m)
		}
		if got := due(base.Add(24*time.Hour), 0); slices.Contains(got, m3.ID) {
			t.Errorf("a sent message is due: %v", got)
		}
		// Nothing moves a sent message: it must never be sent twice.
		for name, err := range map[string]error{
			"MarkMessageSent": s.MarkMessageSent(ctx, m3.ID, base, "250"),
			"RetryMessage":    s.RetryMessage(ctx, m3.ID, 2, base, "x"),
			"FailMessage":     s.FailMessage(ctx, m3.ID, 2, "x"),
		} {
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("%s of a sent message = %v, want ErrConflict", name, err)
			}
		}
		if got := status(m3.ID); got.Status != store.MessageSent || got.Attempts != 1 || !got.Sent.Equal(m.Sent) {
			t.Errorf("sent message changed: %+v", got)
		}
	})
	t.Run("failed", func(t *testing.T) {
		if err := s.FailMessage(ctx, m2.ID, 5, "550 5.1.1 no such user"); err != nil {
			t.Fatalf("FailMessage: %v", err)
		}
		m := status(m2.ID)
		if m.Status != store.MessageFailed || m.Attempts != 5 || m.LastError != "550 5.1.1 no such user" || !m.Sent.IsZero() {
			t.Errorf("after FailMessage: %+v", m)
		}
		if got := due(base.Add(24*time.Hour), 0); !slices.Equal(got, []int64{m1.ID}) {
			t.Errorf("due after a failure = %v, want only %d", got, m1.ID)
		}
		// The team may put a failed message back in the queue.
		if err := s.RetryMessage(ctx, m2.ID, 5, base.Add(2*time.Hour), "requeued"); err != nil {
			t.Fatalf("RetryMessage of a failed message: %v", err)
		}
		if got := due(base.Add(2*time.Hour), 0); !slices.Equal(got, []int64{m1.ID, m2.ID}) {
			t.Errorf("due after the requeue = %v, want %d %d", got, m1.ID, m2.ID)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		for name, err := range map[string]error{
			"MarkMessageSent": s.MarkMessageSent(ctx, 999999, base, "250"),
			"RetryMessage":    s.RetryMessage(ctx, 999999, 1, base, "x"),
			"FailMessage":     s.FailMessage(ctx, 999999, 1, "x"),
		} {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s(unknown) = %v, want ErrNotFound", name, err)
			}
		}
		if _, err := s.GetMessage(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetMessage(unknown) = %v, want ErrNotFound", err)
		}
	})
	t.Run("list", func(t *testing.T) {
		all, err := s.ListMessages(ctx, store.MessageQuery{})
		if err != nil {
			t.Fatalf("ListMessages: %v", err)
		}
		if got := messageIDs(all); !slices.Equal(got, []int64{m3.ID, m2.ID, m1.ID}) {
			t.Errorf("ListMessages = %v, want newest first", got)
		}
		for _, m := range all {
			if len(m.Body) != 0 || m.Size == 0 || len(m.Recipients) != 2 || m.MessageID == "" {
				t.Errorf("listed message %+v: want no body but its size, recipients and Message-ID", m)
			}
		}
		if len(all) == 3 && (all[0].Kind != "immediate" || all[0].Org != "a" || all[0].OrgID != a.ID || !all[0].Encrypted || all[0].Subject != "[CERT] a") {
			t.Errorf("listed message = %+v", all[0])
		}
		for _, tt := range []struct {
			name string
			q    store.MessageQuery
			want []int64
		}{
			{"organisation", store.MessageQuery{OrgID: a.ID}, []int64{m3.ID, m1.ID}},
			{"status", store.MessageQuery{Status: store.MessageSent}, []int64{m3.ID}},
			{"queued", store.MessageQuery{Status: store.MessageQueued}, []int64{m2.ID, m1.ID}},
			{"event", store.MessageQuery{EventHash: h1}, []int64{m2.ID, m1.ID}},
			{"event and organisation", store.MessageQuery{EventHash: h1, OrgID: b.ID}, []int64{m2.ID}},
			{"other event", store.MessageQuery{EventHash: h2}, []int64{m2.ID}},
			{"event, one a page", store.MessageQuery{EventHash: h1, Limit: 1}, []int64{m2.ID}},
			{"event, next page", store.MessageQuery{EventHash: h1, BeforeID: m2.ID}, []int64{m1.ID}},
			{"event never reported", store.MessageQuery{EventHash: hash(9)}, nil},
			{"before", store.MessageQuery{BeforeID: m3.ID}, []int64{m2.ID, m1.ID}},
			{"limit", store.MessageQuery{Limit: 1}, []int64{m3.ID}},
			{"limit and before", store.MessageQuery{Limit: 1, BeforeID: m2.ID}, []int64{m1.ID}},
			{"organisation and status", store.MessageQuery{OrgID: a.ID, Status: store.MessageSent}, []int64{m3.ID}},
		} {
			list, err := s.ListMessages(ctx, tt.q)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got := messageIDs(list); !slices.Equal(got, tt.want) {
				t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
			}
		}
	})
}
