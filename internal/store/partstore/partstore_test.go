package partstore_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/partstore"
)

// matches is the brute-force answer to q over events: every event tested,
// sorted newest time.source first, cut at the page size.
func matches(events []*event.Event, q store.EventQuery) []event.Hash {
	type m struct {
		ts   int64
		hash event.Hash
	}
	var all []m
	from, to := store.FQDNRange(q.FQDN)
	in := func(k store.IPKey) bool {
		b := k.Bytes()
		if b == nil {
			return false
		}
		if q.IP.IsValid() {
			want := store.MakeIPKey(q.IP)
			if !bytes.Equal(b, want.Bytes()) {
				return false
			}
		}
		if q.Prefix.IsValid() {
			lo, hi := store.PrefixRange(q.Prefix)
			if bytes.Compare(b, lo[:]) < 0 || bytes.Compare(b, hi[:]) > 0 {
				return false
			}
		}
		return true
	}
	for _, e := range events {
		c := store.ExtractColumns(e, time.Time{})
		if (q.IP.IsValid() || q.Prefix.IsValid()) && !in(c.SrcIP) && !in(c.DstIP) {
			continue
		}
		if q.ASN != 0 && c.SrcASN != int64(q.ASN) && c.DstASN != int64(q.ASN) {
			continue
		}
		name := func(n string) bool { return n != "" && n >= from && n < to }
		if q.FQDN != "" && !name(c.SrcFQDN) && !name(c.DstFQDN) {
			continue
		}
		if !q.From.IsZero() && c.TimeSource < q.From.UnixMicro() {
			continue
		}
		if !q.To.IsZero() && c.TimeSource >= q.To.UnixMicro() {
			continue
		}
		all = append(all, m{c.TimeSource, e.Hash()})
	}
	slices.SortStableFunc(all, func(a, b m) int { return cmp.Compare(b.ts, a.ts) })
	out := []event.Hash{}
	for _, x := range all[:min(len(all), store.PageLimit(q.Limit))] {
		out = append(out, x.hash)
	}
	return out
}

// queries are the searches of the measurement, with values taken from
// events so that each matches some.
func queries(events []*event.Event) map[string]store.EventQuery {
	e := events[len(events)/3]
	ip, _ := e.Get("source.ip")
	a := netip.MustParseAddr(ip)
	asn, _ := e.Get("source.asn")
	var n uint32
	fmt.Sscan(asn, &n)
	ts, _ := e.Time("time.source")
	day := ts.UTC().Truncate(24 * time.Hour)
	return map[string]store.EventQuery{
		"ip":           {IP: a},
		"ip absent":    {IP: netip.MustParseAddr("192.0.2.1")},
		"cidr /16":     {Prefix: netip.PrefixFrom(a, 16).Masked()},
		"cidr /24":     {Prefix: netip.PrefixFrom(a, 24).Masked(), Limit: 10},
		"asn":          {ASN: n},
		"fqdn":         {FQDN: "d4.example.be"},
		"fqdn top":     {FQDN: "example.be", Limit: 7},
		"fqdn absent":  {FQDN: "d5.example.be"},
		"one day":      {From: day, To: day.Add(24 * time.Hour)},
		"asn in a day": {ASN: n, From: day, To: day.Add(24 * time.Hour)},
		"everything":   {},
	}
}

// check runs every query and get against s and the brute-force answers.
func check(t *testing.T, s *partstore.Store, events []*event.Event) {
	t.Helper()
	ctx := context.Background()
	for name, q := range queries(events) {
		page, err := s.Search(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []event.Hash
		for _, se := range page.Events {
			got = append(got, se.Hash)
		}
		want := matches(events, q)
		if len(want) == 0 && !strings.Contains(name, "absent") {
			t.Fatalf("%s: the test's query matches nothing", name)
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s: got %d events, want %d\ngot  %v\nwant %v", name, len(got), len(want), got, want)
		}
	}
	for _, i := range []int{0, 1, len(events) / 2, len(events) - 1} {
		want := events[i]
		se, err := s.Get(ctx, want.Hash())
		if err != nil {
			t.Fatalf("get event %d: %v", i, err)
		}
		if !bytes.Equal(event.AppendRecord(nil, se.Event), event.AppendRecord(nil, want)) {
			t.Errorf("get event %d: got %v, want %v", i, se.Event, want)
		}
		if se.Hash != want.Hash() || se.Stored.IsZero() {
			t.Errorf("get event %d: hash %s stored %v", i, se.Hash, se.Stored)
		}
	}
	if _, err := s.Get(ctx, event.Hash{1, 2, 3}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get of an unknown hash: %v, want ErrNotFound", err)
	}
}

func TestStoreAnswersLikeBruteForce(t *testing.T) {
	for _, v := range []struct{ block, dict int }{{128, 0}, {1, 0}, {16, 32}} {
		t.Run(fmt.Sprintf("block of %d, dictionary of %d", v.block, v.dict), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			// Partitions of 2,500 events and three observation days: both
			// the size cap and the day seal partitions.
			opts := partstore.Options{BlockEvents: v.block, DictionaryEvents: v.dict, PartitionEvents: 2500, Synchronous: "OFF"}
			s, err := partstore.Open(ctx, dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			g := newGenerator(t, 10000, 7)
			var events []*event.Event
			for b := range 5 {
				g.observation = time.Date(2026, 11, 2+b/2, 9, 30, 0, 0, time.UTC)
				batch := g.batch(t, 2000)
				if err := s.Insert(ctx, batch); err != nil {
					t.Fatal(err)
				}
				events = append(events, batch...)
			}
			t.Run("hot and sealed", func(t *testing.T) { check(t, s, events) })
			if err := s.SealAll(); err != nil {
				t.Fatal(err)
			}
			t.Run("all sealed", func(t *testing.T) { check(t, s, events) })
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s, err = partstore.Open(ctx, dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			t.Run("reopened", func(t *testing.T) { check(t, s, events) })
			// Writing after reopening goes on where it was.
			more := g.batch(t, 500)
			if err := s.Insert(ctx, more); err != nil {
				t.Fatal(err)
			}
			events = append(events, more...)
			t.Run("written after reopening", func(t *testing.T) { check(t, s, events) })
		})
	}
}

func TestReopenLoadsTheHotPartition(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := partstore.Open(ctx, dir, partstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := newGenerator(t, 3000, 9)
	events := g.batch(t, 3000)
	if err := s.Insert(ctx, events); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = partstore.Open(ctx, dir, partstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(t, s, events)
}

func TestUnsupportedQueriesAreRefused(t *testing.T) {
	s, err := partstore.Open(context.Background(), t.TempDir(), partstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []store.EventQuery{{Feed: "x"}, {After: "1-1"}, {Ascending: true}, {Taxonomy: "vulnerable"}} {
		if _, err := s.Search(context.Background(), q); !errors.Is(err, partstore.ErrUnsupported) {
			t.Errorf("%+v: %v, want ErrUnsupported", q, err)
		}
	}
}
