package storetest

// The contract for the team's own records: users, sessions, API tokens,
// the audit log, process state and leases.

import (
	"errors"
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
	take := func(name, holder string, at time.Duration) bool {
		t.Helper()
		ok, err := s.TakeLease(ctx, name, holder, base.Add(at), time.Minute)
		if err != nil {
			t.Fatalf("TakeLease(%s, %s): %v", name, holder, err)
		}
		return ok
	}
	if !take("notify", "a", 0) {
		t.Fatal("a could not take a free lease")
	}
	if take("notify", "b", 30*time.Second) {
		t.Error("b took a's lease before it expired")
	}
	if !take("outbox", "b", 30*time.Second) {
		t.Error("b could not take another, free lease")
	}
	if !take("notify", "a", 50*time.Second) {
		t.Error("a could not renew its lease")
	}
	if take("notify", "b", 100*time.Second) {
		t.Error("b took a's renewed lease before it expired (a renewed at +50s for a minute)")
	}
	if !take("notify", "b", 110*time.Second) {
		t.Error("b could not take a's expired lease")
	}
	if take("notify", "a", 111*time.Second) {
		t.Error("a took back the lease b holds")
	}
	if err := s.ReleaseLease(ctx, "notify", "a"); err != nil {
		t.Fatal(err)
	}
	if take("notify", "a", 112*time.Second) {
		t.Error("a's release of b's lease freed it")
	}
	if err := s.ReleaseLease(ctx, "notify", "b"); err != nil {
		t.Fatal(err)
	}
	if !take("notify", "a", 113*time.Second) {
		t.Error("a could not take the lease b released")
	}
}
