package sqlitestore

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestPartsScanPendingLikeList reads the queue of a parts store, sealed
// partitions of many blocks and a hot one, events queued for one or two
// organisations, at once (ScanPendingNotifications) and organisation by
// organisation (ListPendingNotifications): each organisation's entries
// must be the same events, hashes and times, in the same order. The
// queue is read whole (its rows scanned by range), thinned to every
// fifth event (rows looked up by id, blocks scanned by range) and to
// every 205th (blocks looked up by id); then after reopening, the hot
// partition read back from its rows.
func TestPartsScanPendingLikeList(t *testing.T) {
	skipUnderRace(t)
	withSealInline(t)
	path := filepath.Join(t.TempDir(), "parts.db")
	s := openLayout(t, path, Options{EventLayout: LayoutParts, PartitionEvents: 1500})
	defer func() { s.Close() }()
	g := storetest.NewGenerator(7)
	orgs := []string{`["org-a"]`, `["org-b"]`, `["org-a","org-c"]`, `["org-c"]`}
	for i := range 92 { // blocks of 50
		batch := g.Batch(50)
		for j, e := range batch {
			e.SetTrusted(store.ConstituencyField, orgs[(i*50+j)%len(orgs)])
		}
		if _, err := s.InsertEvents(t.Context(), batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	s.parts.mu.RLock()
	sealed := 0
	for _, p := range s.parts.list {
		if p.sealed {
			sealed++
		}
	}
	hot := !s.parts.list[len(s.parts.list)-1].sealed
	s.parts.mu.RUnlock()
	if sealed < 2 || !hot {
		t.Fatalf("%d sealed partitions, last hot %v: the test wants several sealed and a hot one", sealed, hot)
	}
	queued := func() int {
		t.Helper()
		var n int
		if err := s.read.QueryRowContext(t.Context(), `SELECT count(*) FROM notify_queue`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	compare := func(name string, want int) {
		t.Helper()
		type entry struct {
			seq    int64
			hash   event.Hash
			stored time.Time
		}
		scanned := map[string][]entry{}
		err := s.ScanPendingNotifications(t.Context(), func(p *store.PendingPage) error {
			for i := range p.Len() {
				rec := p.Record(i)
				if rec == nil {
					return fmt.Errorf("event %d: gone", p.Seq[i])
				}
				e, err := event.DecodeRecord(rec)
				if err != nil {
					return fmt.Errorf("event %d: %w", p.Seq[i], err)
				}
				for _, o := range p.OrgsOf(i) {
					scanned[p.Orgs[o]] = append(scanned[p.Orgs[o]], entry{p.Seq[i], e.Hash(), time.UnixMicro(p.Stored[i]).UTC()})
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		total := 0
		for _, org := range []string{"org-a", "org-b", "org-c"} {
			list, err := s.ListPendingNotifications(t.Context(), org, 0, 10000)
			if err != nil {
				t.Fatal(err)
			}
			listed := make([]entry, len(list))
			for i, pn := range list {
				listed[i] = entry{pn.Seq, pn.Hash, pn.Stored}
			}
			if got := scanned[org]; !slices.Equal(got, listed) {
				t.Errorf("%s: %s scanned %d entries, listed %d, or others", name, org, len(got), len(listed))
			}
			total += len(listed)
		}
		if total != want {
			t.Errorf("%s: %d entries, want %d", name, total, want)
		}
		if n := s.parts.queueAskedAgain.Swap(0); n != 0 {
			t.Errorf("%s: %d events not found at first", name, n)
		}
	}
	compare("whole", 4600*5/4)
	if _, err := s.write.ExecContext(t.Context(), `DELETE FROM notify_queue WHERE event_id % 5 != 0`); err != nil {
		t.Fatal(err)
	}
	compare("every fifth", queued())
	if _, err := s.write.ExecContext(t.Context(), `DELETE FROM notify_queue WHERE event_id % 205 != 0`); err != nil {
		t.Fatal(err)
	}
	left := queued()
	compare("every 205th", left)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openLayout(t, path, Options{})
	compare("reopened", left)
}

// TestSortEntries: the queue's entries, as read organisation by
// organisation, sort by id then organisation whether their ids are
// dense (counted) or sparse (compared), an event queued for several
// organisations included.
func TestSortEntries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, spread := range []int64{1, 3, 100} {
		var (
			ids  [][]int64
			want []queuedEntry
		)
		for org := range int32(50) {
			var own []int64
			for id := int64(1000); id < 3000; id++ {
				if rng.Int64N(50*spread) == 0 || (id%97 == 0 && org%7 == 0) {
					own = append(own, id*spread)
					want = append(want, queuedEntry{id * spread, org})
				}
			}
			ids = append(ids, own)
		}
		slices.SortFunc(want, func(a, b queuedEntry) int {
			if c := cmp.Compare(a.id, b.id); c != 0 {
				return c
			}
			return cmp.Compare(a.org, b.org)
		})
		if got := sortEntries(ids); !slices.Equal(got, want) {
			t.Errorf("ids %d apart: sorted wrongly", spread)
		}
	}
	if got := sortEntries([][]int64{nil, {}}); len(got) != 0 {
		t.Errorf("no ids: %v, want none", got)
	}
}
