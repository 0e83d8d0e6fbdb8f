package sqlitestore

import (
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestPartsReadersBesideSealing: searches, pages and counts run while a
// writer fills partitions that seal in the background, as vigil serve's
// console reads while its pipeline stores (under -race: the sealing
// beside the readers). No read fails, and afterwards every event is
// stored once and found by its address.
func TestPartsReadersBesideSealing(t *testing.T) {
	ctx := t.Context()
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 100})
	defer s.Close()
	all := storetest.NewGenerator(91).Batch(1500)
	addr := func(i int) netip.Addr {
		a, err := netip.ParseAddr(all[i].Value("source.ip"))
		if err != nil {
			t.Fatalf("event %d: source.ip %q", i, all[i].Value("source.ip"))
		}
		return a
	}
	stop := make(chan struct{})
	var (
		wg    sync.WaitGroup
		reads atomic.Int64
	)
	for r := range 2 {
		wg.Go(func() {
			for i := r; ; i += 2 {
				select {
				case <-stop:
					return
				default:
				}
				queries := []store.EventQuery{{IP: addr(i * 7 % len(all))}, {Limit: 20}, {Prefix: netip.PrefixFrom(addr(i%len(all)), 16).Masked()}}
				for _, q := range queries {
					if _, err := s.SearchEvents(ctx, q); err != nil {
						t.Errorf("reader %d: search %+v: %v", r, q, err)
						return
					}
				}
				if _, err := s.CountEvents(ctx); err != nil {
					t.Errorf("reader %d: count: %v", r, err)
					return
				}
				reads.Add(1)
			}
		})
	}
	for batch := range slices.Chunk(all, 50) {
		if _, err := s.InsertEvents(ctx, batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitSealed(t, s)
	close(stop)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("no read ran beside the writes")
	}
	s.parts.mu.RLock()
	sealed := 0
	for _, p := range s.parts.list {
		if p.sealed {
			sealed++
		}
	}
	s.parts.mu.RUnlock()
	if sealed < 10 {
		t.Fatalf("%d partitions sealed, want the 14 or so that 1,500 events fill", sealed)
	}
	checkOnce(t, "store", s, all)
	for i := 0; i < len(all); i += 97 {
		page, err := s.SearchEvents(ctx, store.EventQuery{IP: addr(i), Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(page.Events, func(se store.StoredEvent) bool { return se.Hash == all[i].Hash() }) {
			t.Errorf("event %d not found by its address %s", i, addr(i))
		}
	}
}
