package sqlitestore

import (
	"log/slog"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// BenchmarkDedupKeysExist confirms a batch's 1000 keys with the store, as
// the deduplicator does for the keys its memory may have seen: half are
// stored events' hashes (a feed's repeats, whose keys only the stored
// events stand for), half claimed by no one.
func BenchmarkDedupKeysExist(b *testing.B) {
	s := openTemp(b, Options{Logger: slog.New(slog.DiscardHandler)})
	if err := s.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	g := storetest.NewGenerator(1)
	keys := make([]event.Hash, 0, 1000)
	for range 10 {
		batch := g.Batch(1000)
		if _, err := s.InsertEvents(b.Context(), batch, nil); err != nil {
			b.Fatal(err)
		}
		for _, e := range batch[:50] {
			keys = append(keys, e.Hash())
		}
	}
	for i := range 500 {
		keys = append(keys, event.Hash{0xEE, byte(i), byte(i >> 8)})
	}
	now := time.Now()
	b.ResetTimer()
	for b.Loop() {
		found, err := s.DedupKeysExist(b.Context(), keys, now)
		if err != nil || len(found) != len(keys) {
			b.Fatal(len(found), err)
		}
	}
}
