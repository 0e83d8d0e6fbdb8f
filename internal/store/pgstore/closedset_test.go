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
