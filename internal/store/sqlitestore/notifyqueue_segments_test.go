package sqlitestore

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestSegmentBounds: segments of about equal numbers of entries, none
// empty, one event's entries (several organisations) in one segment.
func TestSegmentBounds(t *testing.T) {
	var entries []queuedEntry
	for id := range int64(100) {
		for org := range int32(1 + id%3) {
			entries = append(entries, queuedEntry{id, org})
		}
	}
	for _, n := range []int{1, 2, 5, 16, len(entries), len(entries) + 7} {
		b := segmentBounds(entries, n)
		if b[0] != 0 || b[len(b)-1] != len(entries) || len(b)-1 > n {
			t.Errorf("%d segments: bounds %v", n, b)
			continue
		}
		for k := 1; k < len(b); k++ {
			if b[k] <= b[k-1] {
				t.Errorf("%d segments: segment %d empty (%v)", n, k-1, b)
			}
			if at := b[k]; at < len(entries) && entries[at-1].id == entries[at].id {
				t.Errorf("%d segments: event %d cut at %d", n, entries[at].id, at)
			}
		}
	}
	if b := segmentBounds(entries, 4); len(b) != 5 {
		t.Errorf("4 segments of %d entries: %v", len(entries), b)
	}
}

// TestReadSegmentsMeet: the two goroutines take the segments from both
// ends and meet where their reads take the same time: here the front's
// first segment ends only once the back has read all the others, which
// the front then does not read again. Every page reaches fn once, in the
// order of the entries, Kept, and the pages the back kept say what they
// hold ahead. A goroutine's segments after its first begin on a page
// with a full page's room.
func TestReadSegmentsMeet(t *testing.T) {
	var entries []queuedEntry
	for id := range int64(8 * segmentEntries) {
		entries = append(entries, queuedEntry{id, 0})
	}
	orgs := []string{"org-a"}
	// The first segment (the front's) waits until the second (the
	// back's last) is read, and the back begins once the front has
	// begun: a front held back from taking its first segment (a loaded
	// machine) left all eight to the back, which is right, but not
	// what this test is about. Each wait fails the test after two
	// minutes, so that a front that would read on, or a back that would
	// take the front's segment, makes it fail, not hang.
	var (
		frontBegan, secondRead = make(chan struct{}), make(chan struct{})
		frontOnce, secondOnce  sync.Once
	)
	await := func(ch chan struct{}, what string) {
		select {
		case <-ch:
		case <-time.After(2 * time.Minute):
			t.Errorf("not %s within two minutes", what)
		}
	}
	var (
		mu      sync.Mutex
		reads   = map[int64]int{} // by the first id of the segment
		readers int
		by      = map[int][]int64{} // the segments each scan read
		// sized counts the segments begun on an empty page with a full
		// page's room.
		sized int
	)
	newScan := func() segmentScan {
		mu.Lock()
		readers++
		reader := readers
		mu.Unlock()
		return func(ctx context.Context, part []queuedEntry, first *store.PendingPage, sink pageSink) error {
			mu.Lock()
			reads[part[0].id]++
			by[reader] = append(by[reader], part[0].id)
			mu.Unlock()
			if part[0].id == 0 {
				frontOnce.Do(func() { close(frontBegan) })
				await(secondRead, "read the second segment while the first waits")
			} else {
				await(frontBegan, "begun the first segment")
				if part[0].id == segmentEntries {
					defer secondOnce.Do(func() { close(secondRead) })
				}
			}
			page := first
			if page == nil {
				page = &store.PendingPage{Orgs: orgs}
			} else if page.Len() == 0 && cap(page.Seq) >= store.PendingPageEvents {
				mu.Lock()
				sized++
				mu.Unlock()
			}
			for _, e := range part {
				page.Add(e.id, event.Hash{}, 0, []byte("r"), 0)
				if page.Full() {
					var err error
					if page, err = sink(page); err != nil {
						return err
					}
				}
			}
			if page.Len() > 0 {
				_, err := sink(page)
				return err
			}
			return nil
		}
	}
	var seqs []int64
	var aheads []int64
	err := readSegments(t.Context(), entries, newScan, func(p *store.PendingPage) error {
		if !p.Kept {
			t.Errorf("page from %d not kept", p.Seq[0])
		}
		seqs = append(seqs, p.Seq...)
		aheads = append(aheads, p.Ahead)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) != 8 {
		t.Errorf("%d segments read, want 8: %v", len(reads), reads)
	}
	for first, n := range reads {
		if n != 1 {
			t.Errorf("the segment from %d read %d times", first, n)
		}
	}
	if sized != 6 {
		t.Errorf("%d segments begun on a page with room, want all but the first of each goroutine (6)", sized)
	}
	for _, segments := range by {
		if segments[0] == 0 && len(segments) != 1 {
			t.Errorf("the front read the segments from %v, want only the first", segments)
		}
	}
	want := make([]int64, len(entries))
	for i := range want {
		want[i] = int64(i)
	}
	if !slices.Equal(seqs, want) {
		t.Errorf("%d entries handed over, or out of order; want %d", len(seqs), len(want))
	}
	if aheads[0] == 0 || aheads[len(aheads)-1] != 0 || !slices.IsSortedFunc(aheads[1:], func(a, b int64) int { return int(b - a) }) {
		t.Errorf("pages ahead %v, want what the back kept, falling to 0", aheads)
	}
}
