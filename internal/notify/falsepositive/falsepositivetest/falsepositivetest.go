// Package falsepositivetest is the contract of the false-positive marks,
// answered alike by package falsepositive on SQLite and on PostgreSQL.
package falsepositivetest

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify/falsepositive"
)

var base = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// Run runs the contract; open returns a fresh store for every call.
func Run(t *testing.T, open func(t *testing.T) *falsepositive.Marks) {
	t.Run("mark, read, replace and unmark", func(t *testing.T) { testMarks(t, open(t)) })
	t.Run("a selection as large as allowed", func(t *testing.T) { testLargeSelection(t, open(t)) })
}

func key(s string) event.Hash { return sha256.Sum256([]byte(s)) }

func testMarks(t *testing.T, s *falsepositive.Marks) {
	ctx := t.Context()
	a := falsepositive.Mark{Key: key("a"), Event: key("event a"), Summary: "vulnerable-system/open-dns 192.0.2.1:53 (dns)",
		Reason: "a honeypot of our own, « ok »", UserID: 7, By: "alice", At: base}
	b := falsepositive.Mark{Key: key("b"), Event: key("event b"), Summary: "phishing https://example.org/", Reason: "test page",
		By: "cli", At: base.Add(time.Minute)}
	if err := s.MarkFalsePositives(ctx, []falsepositive.Mark{a, b}); err != nil {
		t.Fatalf("MarkFalsePositives: %v", err)
	}
	got, err := s.GetFalsePositives(ctx, []event.Hash{a.Key, key("none"), b.Key})
	if err != nil {
		t.Fatalf("GetFalsePositives: %v", err)
	}
	if len(got) != 2 || got[a.Key] != a || got[b.Key] != b {
		t.Errorf("GetFalsePositives = %+v\nwant %+v and %+v", got, a, b)
	}
	if got, err := s.GetFalsePositives(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("GetFalsePositives(nil) = %v, %v", got, err)
	}
	keys, err := s.FalsePositiveKeys(ctx)
	if err != nil || len(keys) != 2 || !keys[a.Key] || !keys[b.Key] {
		t.Errorf("FalsePositiveKeys = %v, %v", keys, err)
	}
	// Marking again replaces the reason, who and when.
	a2 := a
	a2.Reason, a2.By, a2.UserID, a2.At = "scanner of a partner", "bob", 8, base.Add(time.Hour)
	if err := s.MarkFalsePositives(ctx, []falsepositive.Mark{a2}); err != nil {
		t.Fatalf("MarkFalsePositives again: %v", err)
	}
	list, err := s.ListFalsePositives(ctx, 10)
	if err != nil || len(list) != 2 || list[0] != a2 || list[1] != b {
		t.Errorf("ListFalsePositives = %+v, %v; want a2 then b", list, err)
	}
	if list, err := s.ListFalsePositives(ctx, 1); err != nil || len(list) != 1 {
		t.Errorf("ListFalsePositives(1) = %d, %v", len(list), err)
	}
	n, err := s.UnmarkFalsePositives(ctx, []event.Hash{a.Key, key("none")})
	if err != nil || n != 1 {
		t.Errorf("UnmarkFalsePositives = %d, %v; want 1", n, err)
	}
	if got, _ := s.GetFalsePositives(ctx, []event.Hash{a.Key, b.Key}); len(got) != 1 || got[b.Key] != b {
		t.Errorf("after unmarking a: %+v", got)
	}
	if n, err := s.UnmarkFalsePositives(ctx, nil); err != nil || n != 0 {
		t.Errorf("UnmarkFalsePositives(nil) = %d, %v", n, err)
	}
}

// testLargeSelection: the largest selection is one statement's worth of
// parameters on both databases.
func testLargeSelection(t *testing.T, s *falsepositive.Marks) {
	ctx := t.Context()
	marks := make([]falsepositive.Mark, falsepositive.MaxSelection)
	keys := make([]event.Hash, len(marks))
	for i := range marks {
		keys[i] = key(fmt.Sprint(i))
		marks[i] = falsepositive.Mark{Key: keys[i], Summary: fmt.Sprint(i), Reason: "bulk", By: "alice", At: base}
	}
	if err := s.MarkFalsePositives(ctx, marks); err != nil {
		t.Fatalf("MarkFalsePositives(%d): %v", len(marks), err)
	}
	if got, err := s.GetFalsePositives(ctx, keys); err != nil || len(got) != len(keys) {
		t.Fatalf("GetFalsePositives = %d, %v", len(got), err)
	}
	if n, err := s.UnmarkFalsePositives(ctx, keys); err != nil || n != len(keys) {
		t.Fatalf("UnmarkFalsePositives = %d, %v", n, err)
	}
}
