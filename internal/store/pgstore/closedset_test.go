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
// do not ask it in SQL for every hash. A process that did not store into
// it reads it from the server, coverRows rows at a time (here 3 rows a
// statement); the process that did takes its hot set's keys instead, and
// reads nothing (a row deleted behind its back stays in the set).
func TestSealEventsCoversTheClosedPartition(t *testing.T) {
	defer func(n int) { coverRows = n }(coverRows)
	coverRows = 3
	for _, c := range []struct {
		name    string
		another bool
		want    int64
	}{
		{"read from the server", true, 9},
		{"the hot set's keys", false, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			s, events, _ := partitionedToday(t, 30)
			first := events[0].Hash()
			if _, err := s.pool.Exec(ctx, `DELETE FROM events WHERE hash = $1`, first[:]); err != nil {
				t.Fatal(err)
			}
			sealer := s
			if c.another {
				sealer = openSecond(t, s)
			}
			if err := sealer.SealEvents(ctx); err != nil {
				t.Fatal(err)
			}
			var hot int64
			if err := s.pool.QueryRow(ctx, `SELECT max(num) FROM event_partitions`).Scan(&hot); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for sealer.closed.covered.Load() < hot {
				if time.Now().After(deadline) {
					t.Fatalf("the set covers the partitions below %d, not those below the hot %d", sealer.closed.covered.Load(), hot)
				}
				time.Sleep(10 * time.Millisecond)
			}
			set := sealer.closed.set.Load()
			if set.Len() != c.want {
				t.Errorf("the set holds %d keys, want %d", set.Len(), c.want)
			}
			for _, e := range events[10-c.want : 10] {
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
		})
	}
}
