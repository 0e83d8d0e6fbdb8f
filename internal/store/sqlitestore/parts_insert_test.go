package sqlitestore

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
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
	insertAtOnce(t, []*Store{s, s, s, s}, storetest.NewGenerator(73).Batch(1200), 50, 37, 300)
}

// insertAtOnce runs a writer a store of stores, each inserting every
// event of all in batches of its own size (base + step × its number),
// from its own place on (offset × its number), all at once; then checks
// that each event was counted as new once, and is stored once as every
// store sees.
func insertAtOnce(t *testing.T, stores []*Store, all []*event.Event, base, step, offset int) {
	t.Helper()
	var (
		wg     sync.WaitGroup
		stored atomic.Int64
	)
	for w, s := range stores {
		wg.Go(func() {
			size := base + step*w
			for i := range (len(all) + size - 1) / size {
				at := (i*size + w*offset) % len(all)
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
	n, err := stores[0].InsertEvents(t.Context(), all, nil)
	if err != nil {
		t.Fatal(err)
	}
	if total := stored.Load() + int64(n); total != int64(len(all)) {
		t.Errorf("%d events counted as new, want %d", total, len(all))
	}
	for i, s := range stores {
		checkOnce(t, fmt.Sprintf("store %d", i), s, all)
	}
}
