package sqlitestore

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestScanPendingSaysWhatItReadAhead: the scan reads the queue's second
// half on another core and keeps its pages until the first half is
// handed over; each page says how much of that it holds (Ahead), so that
// the notifier makes room for it before the pages reach it. What a page
// says is never more than the pages still to come, is all of them once
// the second half is being handed over, and nothing at the last page.
func TestScanPendingSaysWhatItReadAhead(t *testing.T) {
	for _, layout := range []string{LayoutRows, LayoutParts} {
		t.Run(layout, func(t *testing.T) {
			s := openLayout(t, filepath.Join(t.TempDir(), "queue.db"), Options{EventLayout: layout})
			defer s.Close()
			g := storetest.NewGenerator(11)
			// Six pages of events: three a half.
			for range 6 {
				batch := g.Batch(store.PendingPageEvents)
				for _, e := range batch {
					e.SetTrusted(store.ConstituencyField, `["org-a"]`)
				}
				if _, err := s.InsertEvents(t.Context(), batch, nil); err != nil {
					t.Fatal(err)
				}
			}
			// The back's goroutine reads the second half when it comes
			// to take it before the front does: a loaded machine can
			// hold it back until the front has read the whole queue,
			// which is right (nothing is read ahead, and every page
			// says so), but leaves nothing for this test to check. Such
			// a scan, each page saying nothing ahead, is done again.
			var footprint, ahead []int64
			for run := 1; ; run++ {
				footprint, ahead = footprint[:0], ahead[:0]
				err := s.ScanPendingNotifications(t.Context(), func(p *store.PendingPage) error {
					footprint = append(footprint, p.Footprint())
					ahead = append(ahead, p.Ahead)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if slices.ContainsFunc(ahead, func(a int64) bool { return a != 0 }) {
					break
				}
				if run == 10 {
					t.Fatalf("%d scans, and in none did a page say anything read ahead", run)
				}
				t.Logf("scan %d: the front read the whole queue, nothing ahead: scan again", run)
			}
			n := len(ahead)
			if n < 5 {
				t.Fatalf("%d pages, want six or so", n)
			}
			later := int64(0) // the footprints of the pages after page k
			for k := n - 1; k >= 0; k-- {
				if ahead[k] < 0 || ahead[k] > later {
					t.Errorf("page %d of %d: ahead %d, but the pages after it hold %d", k+1, n, ahead[k], later)
				}
				later += footprint[k]
			}
			if ahead[n-1] != 0 {
				t.Errorf("the last page says %d bytes ahead, want 0", ahead[n-1])
			}
			// The second half's pages are all read when the first half
			// ends: the one before the last says the last.
			if ahead[n-2] != footprint[n-1] {
				t.Errorf("the page before the last says %d bytes ahead, want the last page's %d", ahead[n-2], footprint[n-1])
			}
		})
	}
}
