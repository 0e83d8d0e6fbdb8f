package eventstore

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

func openTest(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// bruteForce is the reference answer: every event q matches, newest
// time.source first, ties by the order they were inserted, newest first.
func bruteForce(t *testing.T, events []*event.Event, q store.EventQuery) []event.Hash {
	t.Helper()
	p, err := prepare(q)
	if err != nil {
		t.Fatal(err)
	}
	type hit struct {
		micros int64
		i      int
		h      event.Hash
	}
	var hits []hit
	for i, e := range events {
		c := store.ExtractColumns(e, time.Time{})
		if p.matches(&c) {
			hits = append(hits, hit{c.TimeSource, i, e.Hash()})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if a.micros != b.micros {
			return int(b.micros - a.micros)
		}
		return b.i - a.i
	})
	out := make([]event.Hash, len(hits))
	for i, h := range hits {
		out[i] = h.h
	}
	return out
}

func hashesOf(page store.EventPage) []event.Hash {
	out := make([]event.Hash, len(page.Events))
	for i, se := range page.Events {
		out[i] = se.Hash
	}
	return out
}

// TestInsertGetSearch stores generated events in several inserts and
// checks Get and every kind of search, page by page, against a brute-force
// filter over the events inserted.
func TestInsertGetSearch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// Small blocks and a small memtable, so blocks, flushes and several
	// inserts all take part.
	s := openTest(t, dir, Options{BlockEvents: 37, MemTableSize: 1 << 20})
	g := newGenerator(t, 3000)
	var all []*event.Event
	for range 6 {
		batch := g.batch(t, 500)
		n, err := s.Insert(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(batch) {
			t.Fatalf("inserted %d of %d", n, len(batch))
		}
		all = append(all, batch...)
	}
	// An event whose destination is set as well is found by either side.
	extra := all[10].Clone()
	extra.SetTrusted("destination.ip", "192.0.2.7")
	extra.SetTrusted("destination.fqdn", "www.Other.example.org")
	extra.SetInt("destination.asn", 64999)
	extra.Seal()
	if _, err := s.Insert(ctx, []*event.Event{extra}); err != nil {
		t.Fatal(err)
	}
	all = append(all, extra)

	t.Run("insert skips stored and repeated events", func(t *testing.T) {
		n, err := s.Insert(ctx, []*event.Event{all[0], all[2999], all[2999].Clone()})
		if err != nil || n != 0 {
			t.Fatalf("inserted %d, %v; want 0", n, err)
		}
	})

	check := func(t *testing.T, s *Store) {
		for _, i := range []int{0, 1, 1234, 2999, 3000} {
			got, err := s.Get(ctx, all[i].Hash())
			if err != nil {
				t.Fatalf("get %d: %v", i, err)
			}
			if !slices.Equal(got.Event.Fields(), all[i].Fields()) {
				t.Fatalf("get %d:\n got %v\nwant %v", i, got.Event.Fields(), all[i].Fields())
			}
		}
		if _, err := s.Get(ctx, event.Hash{1}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get of an unknown hash: %v, want ErrNotFound", err)
		}
		ip := netip.MustParseAddr(all[100].Value("source.ip"))
		day := benchStart.Add(7 * 24 * time.Hour)
		queries := map[string]store.EventQuery{
			"ip":                 {IP: ip},
			"destination ip":     {IP: netip.MustParseAddr("192.0.2.7")},
			"prefix /16":         {Prefix: netip.PrefixFrom(ip, 16).Masked()},
			"prefix /12":         {Prefix: netip.PrefixFrom(ip, 12).Masked(), Limit: 30},
			"asn":                {ASN: 64512 + 7},
			"destination asn":    {ASN: 64999},
			"domain":             {FQDN: "d4.example.be"},
			"parent domain":      {FQDN: "example.be", Limit: 25},
			"host":               {FQDN: all[8].Value("source.fqdn")},
			"destination domain": {FQDN: "OTHER.example.org"},
			"no such domain":     {FQDN: "xample.be"},
			"one day":            {From: day, To: day.Add(24 * time.Hour), Limit: 40},
			"asn and day":        {ASN: 64512 + 7, From: day, To: day.Add(10 * 24 * time.Hour), Limit: 3},
			"everything":         {Limit: 200},
		}
		for name, q := range queries {
			t.Run(name, func(t *testing.T) {
				want := bruteForce(t, all, q)
				var got []event.Hash
				pages := 0
				for {
					page, err := s.Search(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					pages++
					got = append(got, hashesOf(page)...)
					if page.Next == "" {
						break
					}
					if len(page.Events) != store.PageLimit(q.Limit) {
						t.Fatalf("page %d has %d events and a next page", pages, len(page.Events))
					}
					q.After = page.Next
				}
				if len(want) == 0 && name != "no such domain" {
					t.Fatal("the query matches nothing: it tests nothing")
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%d pages, %d events; want %d events\n got %x\nwant %x", pages, len(got), len(want), got, want)
				}
			})
		}
	}
	t.Run("before reopening", func(t *testing.T) { check(t, s) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{BlockEvents: 37})
	t.Run("after reopening", func(t *testing.T) { check(t, s) })
	t.Run("after compacting", func(t *testing.T) {
		if err := s.Compact(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, s)
	})
	// Blocks continue after the ones stored before reopening.
	more := g.batch(t, 10)
	if n, err := s.Insert(ctx, more); err != nil || n != 10 {
		t.Fatalf("insert after reopening: %d, %v", n, err)
	}
	for _, e := range more {
		if got, err := s.Get(ctx, e.Hash()); err != nil || got.Hash != e.Hash() {
			t.Fatalf("get after reopening: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestUnsupportedQuery(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	for _, q := range []store.EventQuery{{URL: "http://x"}, {Hash: "abc"}, {Organisation: "org"}, {Ascending: true}} {
		if _, err := s.Search(context.Background(), q); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%+v: %v, want ErrUnsupported", q, err)
		}
	}
	if _, err := s.Search(context.Background(), store.EventQuery{After: "!"}); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
}

// TestCrash kills a process that inserts without closing the store: every
// insert that returned is found after reopening.
func TestCrash(t *testing.T) {
	if dir := os.Getenv("EVENTSTORE_CRASH_DIR"); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), "EVENTSTORE_CRASH_DIR="+dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s := openTest(t, filepath.Join(dir, "db"), Options{})
	defer s.Close()
	g := newGenerator(t, 2000)
	for i := range 4 {
		for _, e := range g.batch(t, 500) {
			if _, err := s.Get(context.Background(), e.Hash()); err != nil {
				t.Fatalf("batch %d: %v", i, err)
			}
		}
	}
	page, err := s.Search(context.Background(), store.EventQuery{Limit: 10000})
	if err != nil || len(page.Events) != 2000 {
		t.Fatalf("search after the crash: %d events, %v", len(page.Events), err)
	}
}

// crashChild inserts four batches and exits without closing the store.
func crashChild(dir string) {
	s, err := Open(filepath.Join(dir, "db"), Options{})
	if err != nil {
		os.Exit(1)
	}
	g := newGenerator(&testing.T{}, 2000)
	for range 4 {
		if _, err := s.Insert(context.Background(), g.batch(&testing.T{}, 500)); err != nil {
			os.Exit(2)
		}
	}
	os.Exit(3)
}
