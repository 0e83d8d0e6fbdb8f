package sqlitestore

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestPartsWritersRaceOnHashes: a batch whose events another writer of
// the same store stores between its lookup and its transaction stores
// only the others, once.
func TestPartsWritersRaceOnHashes(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	batch := storetest.NewGenerator(72).Batch(20)
	var done atomic.Bool
	beforeInsertTx = func() {
		if done.CompareAndSwap(false, true) {
			storetest.Insert(t, s, batch[5:15]...)
		}
	}
	t.Cleanup(func() { beforeInsertTx = nil })
	n, err := s.InsertEvents(t.Context(), batch, nil)
	if err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v; want the 10 the other writer did not store", n, err)
	}
	checkOnce(t, "store", s, batch)
}

// TestPartsConcurrentWriters: writers of one store inserting overlapping
// batches at once store every event once, with ids in order.
func TestPartsConcurrentWriters(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 300})
	defer s.Close()
	all := storetest.NewGenerator(73).Batch(1200)
	var (
		wg     sync.WaitGroup
		stored atomic.Int64
	)
	for w := range 4 {
		wg.Go(func() {
			// Each writer inserts every event, in batches of its own
			// sizes, from its own place on.
			size := 50 + 37*w
			for i := range (len(all) + size - 1) / size {
				at := (i*size + w*300) % len(all)
				n, err := s.InsertEvents(t.Context(), all[at:min(at+size, len(all))], nil)
				if err != nil {
					t.Error(err)
					return
				}
				stored.Add(int64(n))
			}
		})
	}
	wg.Wait()
	// Whatever no writer reached; every event counted once as new.
	n, err := s.InsertEvents(t.Context(), all, nil)
	if err != nil {
		t.Fatal(err)
	}
	if total := stored.Load() + int64(n); total != int64(len(all)) {
		t.Errorf("%d events counted as new, want %d", total, len(all))
	}
	checkOnce(t, "store", s, all)
}
