package storetest

// The contract for the team's own records: users, sessions, API tokens,
// the audit log, process state and leases.

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

func testState(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.GetState(ctx, "http/etag/feed"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetState(missing) = %v, want ErrNotFound", err)
	}
	if err := s.PutState(ctx, "http/etag/feed", []byte(`"abc"`)); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	if err := s.PutState(ctx, "http/etag/feed", []byte(`"def"`)); err != nil {
		t.Fatalf("PutState again: %v", err)
	}
	if err := s.PutState(ctx, "empty", nil); err != nil {
		t.Fatalf("PutState(empty): %v", err)
	}
	v, err := s.GetState(ctx, "http/etag/feed")
	if err != nil || string(v) != `"def"` {
		t.Errorf("GetState = %q, %v; want the second value", v, err)
	}
	if v, err := s.GetState(ctx, "empty"); err != nil || len(v) != 0 {
		t.Errorf("GetState(empty) = %q, %v; want an empty value", v, err)
	}
	if err := s.DeleteState(ctx, "http/etag/feed"); err != nil {
		t.Fatalf("DeleteState: %v", err)
	}
	if _, err := s.GetState(ctx, "http/etag/feed"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted key: %v, want ErrNotFound", err)
	}
	if err := s.DeleteState(ctx, "never-set"); err != nil {
		t.Errorf("DeleteState(missing) = %v, want nil", err)
	}
	// ListState by prefix: "a.b." holds a.b.1 and a.b.2, not a.bc or a.b
	// itself; an empty prefix lists everything.
	for _, k := range []string{"a.b.1", "a.b.2", "a.bc", "a.b", "a.c~"} {
		if err := s.PutState(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	for prefix, want := range map[string][]string{
		"a.b.": {"a.b.1", "a.b.2"},
		"a.b":  {"a.b", "a.b.1", "a.b.2", "a.bc"},
		"a.c":  {"a.c~"},
		"zzz":  nil,
		"":     {"a.b", "a.b.1", "a.b.2", "a.bc", "a.c~", "empty"},
	} {
		got, err := s.ListState(ctx, prefix)
		if err != nil {
			t.Fatalf("ListState(%q): %v", prefix, err)
		}
		keys := slices.Sorted(maps.Keys(got))
		if !slices.Equal(keys, want) {
			t.Errorf("ListState(%q) = %v, want %v", prefix, keys, want)
		}
		for _, k := range keys {
			if k != "empty" && string(got[k]) != k {
				t.Errorf("ListState(%q)[%s] = %q", prefix, k, got[k])
			}
		}
	}
}

func testLeases(t *testing.T, s store.Store) {
	ctx := t.Context()
	take := func(name, holder string, at time.Duration) string {
		t.Helper()
		held, err := s.TakeLease(ctx, name, holder, base.Add(at), time.Minute)
		if err != nil {
			t.Fatalf("TakeLease(%s, %s): %v", name, holder, err)
		}
		return held
	}
	if held := take("notify", "a", 0); held != "a" {
		t.Fatalf("a could not take a free lease: held by %q", held)
	}
	if held := take("notify", "b", 30*time.Second); held != "a" {
		t.Errorf("b took a's lease before it expired, or it says %q holds it, not a", held)
	}
	if held := take("outbox", "b", 30*time.Second); held != "b" {
		t.Errorf("b could not take another, free lease: held by %q", held)
	}
	if held := take("notify", "a", 50*time.Second); held != "a" {
		t.Errorf("a could not renew its lease: held by %q", held)
	}
	if held := take("notify", "b", 100*time.Second); held != "a" {
		t.Errorf("b took a's renewed lease before it expired (a renewed at +50s for a minute): held by %q", held)
	}
	if held := take("notify", "b", 110*time.Second); held != "b" {
		t.Errorf("b could not take a's expired lease: held by %q", held)
	}
	if held := take("notify", "a", 111*time.Second); held != "b" {
		t.Errorf("a took back the lease b holds, or it says %q holds it, not b", held)
	}
	if err := s.ReleaseLease(ctx, "notify", "a"); err != nil {
		t.Fatal(err)
	}
	if held := take("notify", "a", 112*time.Second); held != "b" {
		t.Errorf("a's release of b's lease freed it: held by %q", held)
	}
	if err := s.ReleaseLease(ctx, "notify", "b"); err != nil {
		t.Fatal(err)
	}
	if held := take("notify", "a", 113*time.Second); held != "a" {
		t.Errorf("a could not take the lease b released: held by %q", held)
	}
}

// testLeaseTakeFrom: a lease is taken from its holder, expired or not,
// only while that holder still holds it.
func testLeaseTakeFrom(t *testing.T, s store.Store) {
	ctx := t.Context()
	takeFrom := func(name, from, holder string, at time.Duration) bool {
		t.Helper()
		ok, err := s.TakeLeaseFrom(ctx, name, from, holder, base.Add(at), time.Minute)
		if err != nil {
			t.Fatalf("TakeLeaseFrom(%s, %s, %s): %v", name, from, holder, err)
		}
		return ok
	}
	holds := func(name, holder string, at time.Duration) {
		t.Helper()
		// Another's try at the lease says who holds it and takes nothing.
		if held, err := s.TakeLease(ctx, name, "onlooker", base.Add(at), time.Minute); err != nil || held != holder {
			t.Errorf("lease %s at +%v: held by %q, %v; want %q", name, at, held, err, holder)
		}
	}
	if takeFrom("notify", "dead", "b", 0) {
		t.Error("b took from dead a lease nobody holds")
	}
	if held, err := s.TakeLease(ctx, "notify", "dead", base, time.Hour); err != nil || held != "dead" {
		t.Fatalf("TakeLease(dead) = %q, %v", held, err)
	}
	if takeFrom("notify", "someone else", "b", time.Second) {
		t.Error("b took dead's lease from someone else")
	}
	holds("notify", "dead", 2*time.Second)
	if !takeFrom("notify", "dead", "b", 3*time.Second) {
		t.Fatal("b could not take dead's lease from dead before it expired")
	}
	if takeFrom("notify", "dead", "c", 3*time.Second) {
		t.Error("c took from dead the lease b took from dead first")
	}
	holds("notify", "b", 4*time.Second)
	// The lease b took lasts its own time, not what was left of dead's
	// hour: it expires a minute after b took it.
	holds("notify", "b", 62*time.Second)
	if held, err := s.TakeLease(ctx, "notify", "c", base.Add(64*time.Second), time.Minute); err != nil || held != "c" {
		t.Errorf("c could not take b's expired lease: held by %q, %v", held, err)
	}
	// An expired lease is still its holder's to be taken from.
	if !takeFrom("notify", "c", "d", 10*time.Minute) {
		t.Error("d could not take c's expired lease from c")
	}
	if err := s.ReleaseLease(ctx, "notify", "d"); err != nil {
		t.Fatal(err)
	}
	if takeFrom("notify", "d", "e", 11*time.Minute) {
		t.Error("e took from d the lease d released")
	}
	if held, err := s.TakeLease(ctx, "outbox", "x", base, time.Minute); err != nil || held != "x" {
		t.Fatalf("TakeLease(outbox, x) = %q, %v", held, err)
	}
	if takeFrom("outbox", "dead", "b", 0) {
		t.Error("b took from dead a lease of another name")
	}
}

// testLeaseTakeFromConcurrent: of several processes that take a lease
// from its dead holder at once, one wins.
func testLeaseTakeFromConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	if held, err := s.TakeLease(ctx, "notify", "dead", base, time.Hour); err != nil || held != "dead" {
		t.Fatalf("TakeLease(dead) = %q, %v", held, err)
	}
	const n = 8
	won := raceOnce(t, "TakeLeaseFrom", n, func(i int) (string, bool, error) {
		holder := fmt.Sprint("restarted ", i)
		ok, err := s.TakeLeaseFrom(ctx, "notify", "dead", holder, base.Add(time.Second), time.Minute)
		return holder, ok, err
	})
	held, err := s.TakeLease(ctx, "notify", "onlooker", base.Add(2*time.Second), time.Minute)
	if len(won) != 1 || err != nil || held != won[0] {
		t.Errorf("%d goroutines took the lease from dead: won by %q, held by %q, %v; want one winner", n, won, held, err)
	}
}
