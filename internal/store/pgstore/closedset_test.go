package pgstore

import (
	"testing"
	"time"
)

// TestClosedRows: the estimate that sizes the set's first layer counts
// the rows of the closed partitions the planner has statistics of, and a
// partition that does not exist as none.
func TestClosedRows(t *testing.T) {
	ctx := t.Context()
	s, events, today := partitionedToday(t, 30)
	tomorrow := today.Add(24 * time.Hour)
	if n, err := s.InsertEvents(ctx, observedOn(events[10:30], tomorrow), nil); err != nil || n != 20 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE events_1`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE events_2`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		nums []int64
		want int64
	}{{[]int64{1}, 10}, {[]int64{1, 2}, 30}, {[]int64{1, 99}, 10}, {nil, 0}} {
		if got, err := closedRows(ctx, s.pool, c.nums); err != nil || got != c.want {
			t.Errorf("closedRows(%v) = %d, %v; want %d", c.nums, got, err, c.want)
		}
	}
}

// TestSealEventsCoversTheClosedPartition: the partition SealEvents closes
// is read into the set, as one a later day closes is, so the next batches
// do not ask it in SQL for every hash; read coverRows rows at a time (here 3 rows
// a statement), every one of its hashes is in.
func TestSealEventsCoversTheClosedPartition(t *testing.T) {
	defer func(n int) { coverRows = n }(coverRows)
	coverRows = 3
	ctx := t.Context()
	s, events, _ := partitionedToday(t, 30)
	if err := s.SealEvents(ctx); err != nil {
		t.Fatal(err)
	}
	var hot int64
	if err := s.pool.QueryRow(ctx, `SELECT max(num) FROM event_partitions`).Scan(&hot); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.closed.covered.Load() < hot {
		if time.Now().After(deadline) {
			t.Fatalf("the set covers the partitions below %d, not those below the hot %d", s.closed.covered.Load(), hot)
		}
		time.Sleep(10 * time.Millisecond)
	}
	set := s.closed.set.Load()
	if set.Len() != 10 {
		t.Errorf("the set holds %d keys, want the partition's 10", set.Len())
	}
	for _, e := range events[:10] {
		h := e.Hash()
		named := false
		set.Admit(hashKey(h[:]), func([]int64) bool {
			named = true
			return false
		})
		if !named {
			t.Errorf("event %s's hash is not in the set", h)
		}
	}
}
