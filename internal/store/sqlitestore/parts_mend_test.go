package sqlitestore

// Tests of the mends after the parts layout's review.

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestPartsHugeEvents stores 120 events of 600 KB in one batch (as many
// as a block of 128 held whatever their size, 72 MB, beyond what a block
// of several events may decompress to) and one of 70 MB, larger than
// that bound, alone: every one is read back, by hash and by a search.
func TestPartsHugeEvents(t *testing.T) {
	// What it checks (a block's bounds, splitting, reading back) runs on
	// the test's goroutine, and its 140 MB of compression take the race
	// detector over a minute; the store's background goroutines are
	// watched under -race by the tests of sealing, covering and
	// checkpoints.
	skipUnderRace(t)
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	g := storetest.NewGenerator(5)
	batch := g.Batch(121)
	for i, e := range batch[:120] {
		e.SetRawString(strings.Repeat(string(rune('a'+i%26)), 600_000))
	}
	batch[120].SetRawString(strings.Repeat("z", 70<<20))
	if n, err := s.InsertEvents(t.Context(), batch, nil); err != nil || n != len(batch) {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	for i, e := range batch {
		got, err := s.GetEvent(t.Context(), e.Hash())
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if got.Event.Hash() != e.Hash() {
			t.Fatalf("event %d came back different", i)
		}
	}
	var blocks, many int
	if err := s.write.QueryRowContext(t.Context(), `SELECT count(*), count(*) FILTER (WHERE n > 1) FROM ev_1_blocks`).Scan(&blocks, &many); err != nil {
		t.Fatal(err)
	}
	if blocks < 120*600_000/blockBytes {
		t.Errorf("%d blocks for 72 MB of events, want blocks of at most %d bytes", blocks, blockBytes)
	}
	page, err := s.SearchEvents(t.Context(), store.EventQuery{Limit: 200})
	if err != nil || len(page.Events) != len(batch) {
		t.Fatalf("search: %d events, %v", len(page.Events), err)
	}
}

// TestPartsSealRetried cancels a SealEvents, which leaves its partition
// marked sealing (written no more) but not sealed: the background loop
// seals it. Then a sealing that fails (a trigger refuses the summary) is
// tried again by the loop once the cause is gone.
func TestPartsSealRetried(t *testing.T) {
	type tried struct {
		n   int64
		err error
	}
	done := make(chan tried, 16)
	sealLoopHook = func(p *partition, err error) { done <- tried{p.n, err} }
	first := sealRetryFirst
	sealRetryFirst = time.Millisecond
	t.Cleanup(func() { sealLoopHook, sealRetryFirst = nil, first })
	wait := func() tried {
		t.Helper()
		select {
		case d := <-done:
			return d
		case <-time.After(time.Minute): // a hang, not a speed
			t.Fatal("the loop tried no sealing")
			return tried{}
		}
	}
	sealed := func(s *Store, n int64) bool {
		s.parts.mu.RLock()
		defer s.parts.mu.RUnlock()
		return s.parts.list[n-1].sealed
	}

	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	g := storetest.NewGenerator(8)
	if _, err := s.InsertEvents(t.Context(), g.Batch(50), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.SealEvents(ctx); err == nil {
		t.Fatal("SealEvents with a cancelled context sealed")
	}
	if d := wait(); d.n != 1 || d.err != nil || !sealed(s, 1) {
		t.Fatalf("loop sealed partition %d: %v (sealed %v)", d.n, d.err, sealed(s, 1))
	}

	if _, err := s.write.ExecContext(t.Context(), `CREATE TRIGGER refuse_summary BEFORE UPDATE ON event_parts BEGIN SELECT RAISE(ABORT, 'no summary'); END`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertEvents(t.Context(), g.Batch(50), nil); err != nil {
		t.Fatal(err)
	}
	s.parts.mu.Lock()
	p := s.parts.list[len(s.parts.list)-1]
	p.sealing = true
	s.parts.mu.Unlock()
	s.parts.sealLater(p)
	if d := wait(); d.err == nil || sealed(s, p.n) {
		t.Fatalf("sealing partition %d against the trigger: %v", d.n, d.err)
	}
	if _, err := s.write.ExecContext(t.Context(), `DROP TRIGGER refuse_summary`); err != nil {
		t.Fatal(err)
	}
	for {
		d := wait()
		if d.err == nil {
			break
		}
	}
	if !sealed(s, p.n) {
		t.Errorf("partition %d not sealed after the retry", p.n)
	}
}

// TestPartsOrganisationEventDamagedBlock damages the block holding an
// event of organisation a and one of b: asked as a for b's event, the
// store answers ErrNotFound (the event is not a's), without decoding the
// block; asked as b, it reports the damage. In a hot partition and in a
// sealed one.
func TestPartsOrganisationEventDamagedBlock(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	ea := storetest.Event(t, map[string]string{"time.source": "2026-11-01T10:00:00+00:00", "source.ip": "192.0.2.1"}, "a")
	eb := storetest.Event(t, map[string]string{"time.source": "2026-11-01T11:00:00+00:00", "source.ip": "192.0.2.2"}, "b")
	storetest.Insert(t, s, ea, eb)
	for _, seal := range []bool{false, true} {
		if seal {
			if err := s.SealEvents(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.write.ExecContext(t.Context(), `UPDATE ev_1_blocks SET data = ?`, []byte("not zstd at all")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetOrganisationEvent(t.Context(), "a", eb.Hash()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("sealed %v: b's event asked as a: %v, want %v", seal, err, store.ErrNotFound)
		}
		if _, err := s.GetOrganisationEvent(t.Context(), "b", eb.Hash()); !errors.Is(err, errBadBlock) {
			t.Errorf("sealed %v: b's event asked as b: %v, want %v", seal, err, errBadBlock)
		}
	}
}
