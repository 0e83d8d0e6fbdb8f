package sqlitestore

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestHashRunsRoundTrip: a run of hashes reads back as written, whether
// its h3 are close or span the whole range, repeat, or it holds one
// event; a cut run is refused.
func TestHashRunsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := func(n int, pos uint64) []hashEntry {
		l := make([]hashEntry, n)
		for i := range l {
			l[i] = hashEntry{h3Of(r.Uint64()), r.Uint64N(pos)}
		}
		return l
	}
	runs := map[string][]hashEntry{
		"one":      {{-5, 0}},
		"one far":  {{1<<31 - 1, 1<<19 - 1}},
		"random":   random(hashRun, 1<<19),
		"repeats":  {{7, 3}, {7, 9}, {7, 1 << 30}, {8, 0}, {8, 2}},
		"extremes": {{-1 << 31, 0}, {0, 1}, {1<<31 - 1, 2}},
		"close":    {{100, 5}, {101, 6}, {102, 7}, {110, 8}},
	}
	for name, run := range runs {
		slices.SortFunc(run, compareHashEntries)
		b := encodeHashRun(run)
		var got []hashEntry
		if err := decodeHashRun(b, run[0].h3, func(e hashEntry) { got = append(got, e) }); err != nil || !slices.Equal(got, run) {
			t.Fatalf("%s: decoded %v (%v), want %v", name, got, err, run)
		}
		if len(run) > 2 {
			if err := decodeHashRun(b[:len(b)/2], run[0].h3, func(hashEntry) {}); !errors.Is(err, errBadHashes) {
				t.Errorf("%s: cut run: %v, want errBadHashes", name, err)
			}
		}
	}
	if err := decodeHashRun(nil, 0, func(hashEntry) {}); !errors.Is(err, errBadHashes) {
		t.Errorf("empty run: %v, want errBadHashes", err)
	}
	// A run of a full partition (2^19 events, so 128 of them span about
	// 2^12 values of h3) takes about 3.5 bytes an event, not the 13 of
	// the index it replaces.
	dense := make([]hashEntry, hashRun)
	for i := range dense {
		dense[i] = hashEntry{int64(r.Uint64N(1 << 12)), r.Uint64N(1 << 19)}
	}
	slices.SortFunc(dense, compareHashEntries)
	if b := encodeHashRun(dense); len(b) > 4*hashRun {
		t.Errorf("a run of %d hashes of a full partition takes %d bytes, want at most %d", hashRun, len(b), 4*hashRun)
	} else {
		t.Logf("a run of %d hashes of a full partition takes %d bytes", hashRun, len(b))
	}
}

// TestHashRunsFindEvents writes partitions as layout version 5 did (an
// index of h4), reopens the database with this version and writes on,
// events stored already coming again, so that partitions sealed with
// either are asked together: each of version 6 has its runs and no index
// of h4, every event is found by its hash, none is stored twice, and
// every search answers as the rows layout does.
func TestHashRunsFindEvents(t *testing.T) {
	lp := newLayoutPair(t, 11)
	lp.parts.parts.writeVersion = 5
	// Three batches: a partition (two batches) sealed as 5, the third
	// batch in the hot one.
	lp.insert(3)
	lp.upgrade(`UPDATE event_layout SET version = 5`)
	// Sealed as 6, which keeps the compact rows (7 is TestPartsOfVersion6Rows):
	// that one and another.
	lp.parts.parts.writeVersion = 6
	lp.insert(3)
	// Events of partitions sealed as either version come again.
	again := []*event.Event{lp.all[3], lp.all[400], lp.all[len(lp.all)-600], lp.all[len(lp.all)-1]}
	insertOnBoth(t, lp.rows, lp.parts, append(lp.g.Batch(50), again...))
	ctx := t.Context()
	count := func(q string) int {
		t.Helper()
		var n int
		if err := lp.parts.write.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	byVersion := map[int]int{}
	for _, p := range lp.partitions() {
		if !p.sealed {
			continue
		}
		byVersion[p.sealedAs]++
		index := count(`SELECT count(*) FROM sqlite_schema WHERE name = '` + p.table + `_h4'`)
		runs := count(`SELECT count(*) FROM sqlite_schema WHERE name = '` + p.table + `_hash'`)
		switch {
		case p.sealedAs == 5 && index == 1 && runs == 0:
		case p.sealedAs == 6 && index == 0 && runs == 1:
			if n := count(`SELECT count(*) FROM ` + p.table + `_hash`); n == 0 {
				t.Errorf("partition %d: no run of hashes", p.n)
			}
		default:
			t.Errorf("partition %d sealed as %d: %d index of h4, %d table of runs", p.n, p.sealedAs, index, runs)
		}
	}
	if byVersion[5] == 0 || byVersion[6] == 0 {
		t.Fatalf("sealed partitions by version %v: the test wants both 5 and 6", byVersion)
	}
	lp.compare()
}

// TestSummaryFiltersSizedByKeys: a sealed partition's filter of names is
// sized for the label suffixes its rows give, not for one an event.
func TestSummaryFiltersSizedByKeys(t *testing.T) {
	withSealInline(t)
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 100})
	defer s.Close()
	batch := storetest.NewGenerator(5).Batch(150)
	for i, e := range batch {
		if i%4 != 1 {
			continue
		}
		if err := e.Set("source.fqdn", fmt.Sprintf("h%d.example.org", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.InsertEvents(t.Context(), batch, nil); err != nil {
		t.Fatal(err)
	}
	p := s.parts.list[0]
	if !p.sealed {
		t.Fatal("first partition not sealed")
	}
	var n, names, suffixes int
	for _, r := range sealedRowsOf(t, s, p) {
		n++
		for _, name := range [][]byte{r.src, r.dst} {
			if len(name) > 0 {
				names++
				suffixes += bytes.Count(name, []byte("."))
			}
		}
	}
	if names == 0 || suffixes >= n {
		t.Fatalf("%d events, %d with a name, %d label suffixes: the test wants some names, fewer suffixes than events", n, names, suffixes)
	}
	words := func(keys int) int { return (int(math.Ceil(float64(max(keys, 1))*9.6)) + 63) / 64 }
	if got, want := len(p.sum.fqdns.bits), words(min(n, suffixes)); got != want || got >= words(n) && suffixes < n {
		t.Errorf("filter of names: %d words, want %d (%d suffixes of %d names)", got, want, suffixes, names)
	}
	for _, e := range batch[:100] {
		if fqdn, ok := e.Get("source.fqdn"); ok && fqdn != "" {
			page, err := s.SearchEvents(t.Context(), store.EventQuery{FQDN: fqdn, Limit: 5})
			if err != nil || len(page.Events) == 0 {
				t.Fatalf("search %s: %d events (%v)", fqdn, len(page.Events), err)
			}
		}
	}
}

// BenchmarkStoredAgain stores a batch of 500 events again, each already
// in one of three sealed partitions of 20,000, in a store sealed as
// layout version 5 (an index of h4) and one sealed as 6 (runs of
// hashes): every event is looked up by its hash and confirmed by its
// block. Loading the store is not timed.
func BenchmarkStoredAgain(b *testing.B) {
	for _, version := range []int{5, 6} {
		b.Run(fmt.Sprintf("version=%d", version), func(b *testing.B) {
			withSealInline(b)
			s := openLayout(b, filepath.Join(b.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 20000})
			defer s.Close()
			s.parts.writeVersion = version
			g := storetest.NewGenerator(9)
			var all []*event.Event
			for range 130 {
				batch := g.Batch(500)
				if _, err := s.InsertEvents(b.Context(), batch, nil); err != nil {
					b.Fatal(err)
				}
				all = append(all, batch...)
			}
			r := rand.New(rand.NewPCG(3, 4))
			again := make([]*event.Event, 500)
			for i := range again {
				again[i] = all[r.IntN(60000)] // in the sealed partitions
			}
			for b.Loop() {
				if n, err := s.InsertEvents(b.Context(), again, nil); err != nil || n != 0 {
					b.Fatalf("%d stored again (%v)", n, err)
				}
			}
		})
	}
}

// TestHashRunsLookup writes runs of chosen entries and asks them: an h3
// repeated across the cut at hashRun (the run goes on until it changes),
// negative h3, a key equal to a run's first h3, one below the first run,
// ones between entries and past the last, and keys asked together in any
// order; each gives exactly the positions of its h3.
func TestHashRunsLookup(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "runs.db"), Options{})
	defer s.Close()
	ctx := t.Context()
	var all []hashEntry
	pos := uint64(0)
	add := func(h3 int64, n int) {
		for range n {
			all = append(all, hashEntry{h3, pos})
			pos++
		}
	}
	for h3 := int64(-1<<23 + 5); len(all) < hashRun-2; h3 += 1 << 15 {
		add(h3, 1)
	}
	add(-3, 5) // across the cut at hashRun
	for h3 := int64(0); len(all) < 3*hashRun; h3 += 997 {
		add(h3, 1+int(h3/997)%3)
	}
	add(1<<23-1, 2)
	slices.SortFunc(all, compareHashEntries)
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeHashes(ctx, tx, "ev_runs", all); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var firsts []int64
	rows, err := s.read.QueryContext(ctx, `SELECT h3 FROM ev_runs_hash ORDER BY h3`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var h3 int64
		rows.Scan(&h3)
		firsts = append(firsts, h3)
	}
	rows.Close()
	if len(firsts) < 3 || slices.Contains(firsts, -3) {
		t.Fatalf("runs start at %v: want several, none cut inside h3 -3", firsts)
	}
	const firstID = 1000
	want := func(h3s ...int64) []int64 {
		var ids []int64
		for _, e := range all {
			if slices.Contains(h3s, e.h3) {
				ids = append(ids, firstID+int64(e.pos))
			}
		}
		return ids
	}
	key := func(h3 int64) int64 { return h3<<40 | 0x5a5a5a }
	cases := map[string][]int64{
		"across the cut":     {-3},
		"lowest":             {-1<<23 + 5},
		"a run's first":      {firsts[1]},
		"between entries":    {-2, 998},
		"past the last":      {1<<23 - 1},
		"below the first":    {-1 << 23},
		"several, unordered": {1<<23 - 1, -3, 0, firsts[2], -1<<23 + 5, 997 * 5, -3, -1 << 23},
	}
	for name, h3s := range cases {
		keys := make([]int64, len(h3s))
		for i, h3 := range h3s {
			keys[i] = key(h3)
		}
		got, err := s.parts.hashPositions(ctx, "ev_runs", firstID, keys)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if w := want(h3s...); !slices.Equal(got, w) {
			t.Errorf("%s: positions %v, want %v", name, got, w)
		}
	}
}
