package sqlitestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestBloomProbesBounded reads a filter whose k is beyond any the writer
// makes: a damaged summary, refused.
func TestBloomProbesBounded(t *testing.T) {
	f := newBloom(100)
	b := f.marshal()
	if _, err := unmarshalBloom(b, false); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b, 1<<31)
	for _, check := range []bool{false, true} {
		if _, err := unmarshalBloom(b, check); !errors.Is(err, errBadBloom) {
			t.Errorf("k = 2^31, only checked %v: %v, want %v", check, err, errBadBloom)
		}
	}
}

// bloomStore is a store of 8 sealed partitions of 50 events, each of its
// own /16, AS and domain, and one hot partition.
func bloomStore(t *testing.T) *Store {
	withSealInline(t)
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 50})
	t.Cleanup(func() { s.Close() })
	for i := range 9 {
		var batch []*event.Event
		for j := range 50 {
			e := event.New(4)
			for k, v := range map[string]string{
				"time.source": event.FormatTime(time.Date(2024, 5, 1, 0, i, j, 0, time.UTC)),
				"source.ip":   fmt.Sprintf("198.%d.0.%d", 18+i, j+1),
				"source.asn":  fmt.Sprint(64500 + i),
				"source.fqdn": fmt.Sprintf("h%d.part%d.example", j, i),
			} {
				if err := e.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
			batch = append(batch, e)
		}
		if _, err := s.InsertEvents(t.Context(), batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestBloomFiltersEvicted searches with no Bloom filter held in memory:
// each sealed partition's are read back from its summary row, find the
// events, and still spare the partitions that cannot match.
func TestBloomFiltersEvicted(t *testing.T) {
	s := bloomStore(t)
	if s.parts.blooms.size == 0 {
		t.Fatal("no filters held after sealing")
	}
	s.parts.blooms = newBloomCache(0) // holds nothing
	for name, q := range map[string]store.EventQuery{
		"ip":   {IP: netip.MustParseAddr("198.21.0.7")},
		"/16":  {Prefix: netip.MustParsePrefix("198.21.0.0/16")},
		"asn":  {ASN: 64503},
		"fqdn": {FQDN: "part3.example"},
	} {
		before, loads := s.parts.sealedAsked.Load(), s.parts.blooms.loads
		page, err := s.SearchEvents(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != 1 && name == "ip" || len(page.Events) == 0 {
			t.Errorf("%s: %d events found", name, len(page.Events))
		}
		if got := s.parts.blooms.loads - loads; got < 7 {
			t.Errorf("%s: %d partitions' filters read, want all 8 but a false positive", name, got)
		}
		if asked := s.parts.sealedAsked.Load() - before; asked > 2 {
			t.Errorf("%s: %d sealed partitions asked of 8", name, asked)
		}
	}
	// An event is still found by its hash (the filter of hashes stays).
	page, err := s.SearchEvents(t.Context(), store.EventQuery{IP: netip.MustParseAddr("198.19.0.3")})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("%v, %d events", err, len(page.Events))
	}
	if _, err := s.GetEvent(t.Context(), page.Events[0].Event.Hash()); err != nil {
		t.Errorf("by hash: %v", err)
	}
}

// TestBloomCacheBudget keeps the filters within the budget, the most
// recently used held.
func TestBloomCacheBudget(t *testing.T) {
	f := func(n int) *partFilters {
		return &partFilters{ips: newBloom(n), asns: newBloom(n), fqdns: newBloom(n)}
	}
	one := f(1000).bytes()
	c := newBloomCache(2*one + one/2)
	c.put(1, f(1000))
	c.put(2, f(1000))
	c.cached(1) // 2 is now the least recently used
	c.put(3, f(1000))
	if c.cached(2) != nil || c.cached(1) == nil || c.cached(3) == nil {
		t.Errorf("held 1 %v, 2 %v, 3 %v; want 1 and 3", c.cached(1) != nil, c.cached(2) != nil, c.cached(3) != nil)
	}
	if c.size != 2*one {
		t.Errorf("size %d, want %d", c.size, 2*one)
	}
	c.put(4, f(10_000)) // larger than the budget: not held, none evicted
	if c.cached(4) != nil || c.size != 2*one {
		t.Errorf("a filter beyond the budget: held %v, size %d", c.cached(4) != nil, c.size)
	}
}

// TestBloomFiltersDamaged reads back a summary damaged on disk: the
// search fails with errBadBloom, it does not crash or loop.
func TestBloomFiltersDamaged(t *testing.T) {
	s := bloomStore(t)
	s.parts.blooms = newBloomCache(0)
	// The first filter's k, after the version, three varints and its
	// length, set to 2^31.
	var raw []byte
	if err := s.write.QueryRowContext(t.Context(), `SELECT summary FROM event_parts WHERE id = 4`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	at := 1
	for range 3 {
		_, l := binary.Varint(raw[at:])
		at += l
	}
	_, l := binary.Uvarint(raw[at:])
	binary.LittleEndian.PutUint32(raw[at+l:], 1<<31)
	if _, err := s.write.ExecContext(t.Context(), `UPDATE event_parts SET summary = ? WHERE id = 4`, raw); err != nil {
		t.Fatal(err)
	}
	_, err := s.SearchEvents(t.Context(), store.EventQuery{IP: netip.MustParseAddr("198.21.0.7")})
	if !errors.Is(err, errBadBloom) {
		t.Errorf("search over a damaged summary: %v, want %v", err, errBadBloom)
	}
	if _, err := s.write.ExecContext(t.Context(), `UPDATE event_parts SET summary = x'01' WHERE id = 4`); err != nil {
		t.Fatal(err)
	}
	_, err = s.SearchEvents(t.Context(), store.EventQuery{ASN: 64503})
	if !errors.Is(err, errBadSummary) {
		t.Errorf("search over a truncated summary: %v, want %v", err, errBadSummary)
	}
}
