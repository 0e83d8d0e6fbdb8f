package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// layoutQueries are searches over storetest.Generator's events, each with
// every sort and direction the table offers: among them a prefix of
// several /16s (several lists by address, across rows when they are
// small) and the whole of each family.
func layoutQueries(g *storetest.Generator, sample *event.Event) map[string]store.EventQuery {
	ip := netip.MustParseAddr(sample.Value("source.ip"))
	ts, _ := sample.Time("time.source")
	qs := map[string]store.EventQuery{
		"all":        {},
		"ip":         {IP: ip},
		"/16":        {Prefix: g.NetworkPrefix(0)},
		"/24":        {Prefix: netip.PrefixFrom(ip, 24).Masked()},
		"/14":        {Prefix: netip.PrefixFrom(g.NetworkPrefix(0).Addr(), 14)},
		"all IPv4":   {Prefix: netip.MustParsePrefix("0.0.0.0/0")},
		"all IPv6":   {Prefix: netip.MustParsePrefix("::/0")},
		"IPv6 /64":   {Prefix: netip.MustParsePrefix("2001:db8:0:1::/64")},
		"asn":        {ASN: g.ASN(0)},
		"asn+type":   {ASN: g.ASN(1), Type: sample.Value("classification.type")},
		"feed":       {Feed: sample.Value("feed.name")},
		"taxonomy":   {Taxonomy: sample.Value("classification.taxonomy"), TLP: "amber"},
		"time range": {From: ts.Add(-time.Hour), To: ts.Add(time.Hour)},
		"no such":    {Feed: "no such feed"},
	}
	out := map[string]store.EventQuery{}
	for name, q := range qs {
		for _, sort := range store.SortKeys {
			for _, asc := range []bool{false, true} {
				q := q
				q.Sort, q.Ascending, q.Limit = sort, asc, 400
				out[fmt.Sprintf("%s by %s asc=%v", name, sort, asc)] = q
			}
		}
	}
	return out
}

// allPages reads every page of q (at most 12) and returns the hashes in
// order.
func allPages(t *testing.T, s *Store, q store.EventQuery) []event.Hash {
	t.Helper()
	var out []event.Hash
	for range 12 {
		page, err := s.SearchEvents(t.Context(), q)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		for _, se := range page.Events {
			out = append(out, se.Hash)
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	return out
}

// insertOnBoth stores batch in both layouts, which must store as many.
func insertOnBoth(t *testing.T, rows, parts *Store, batch []*event.Event) {
	t.Helper()
	n1, err1 := rows.InsertEvents(t.Context(), batch, nil)
	n2, err2 := parts.InsertEvents(t.Context(), batch, nil)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if n1 != n2 {
		t.Fatalf("inserted %d on parts, %d on rows", n2, n1)
	}
}

// compareLayouts checks that two stores answer every query alike.
func compareLayouts(t *testing.T, rows, parts *Store, g *storetest.Generator, sample *event.Event) {
	t.Helper()
	compareQueries(t, rows, parts, layoutQueries(g, sample))
}

// compareQueries checks that two stores answer each of queries alike.
func compareQueries(t *testing.T, rows, parts *Store, queries map[string]store.EventQuery) {
	t.Helper()
	ctx := t.Context()
	for name, q := range queries {
		want, got := allPages(t, rows, q), allPages(t, parts, q)
		if !slices.Equal(want, got) {
			t.Errorf("%s: parts gave %d events, rows %d, or another order", name, len(got), len(want))
		}
		if q.Sort != store.SortTime || q.Ascending {
			continue
		}
		for _, bound := range []int{0, 10, 100000} {
			a, err1 := rows.CountMatches(ctx, q, bound)
			b, err2 := parts.CountMatches(ctx, q, bound)
			if err := errors.Join(err1, err2); err != nil {
				t.Fatal(err)
			}
			if a != b {
				t.Errorf("%s: CountMatches(%d) = %d on parts, %d on rows", name, bound, b, a)
			}
		}
		for _, by := range store.GroupKeys {
			a, err1 := rows.GroupEvents(ctx, q, by, 10)
			b, err2 := parts.GroupEvents(ctx, q, by, 10)
			if err := errors.Join(err1, err2); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a, b) {
				t.Errorf("%s: GroupEvents(%s) = %v on parts, %v on rows", name, by, b, a)
			}
		}
	}
	n1, err1 := rows.CountEvents(ctx)
	n2, err2 := parts.CountEvents(ctx)
	if err := errors.Join(err1, err2); err != nil || n1 != n2 {
		t.Errorf("CountEvents = %d on parts, %d on rows (%v)", n2, n1, err)
	}
}

func openLayout(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s
}

// layoutPair is a store of each layout fed the same generated events
// (storetest.Generator), the parts one in partitions of 300 sealed as
// soon as full, for the tests that compare their answers.
type layoutPair struct {
	t           *testing.T
	rows, parts *Store
	partsPath   string
	g           *storetest.Generator
	all         []*event.Event
	// mixAddrs has insert give some events an IPv6 source.ip and a
	// destination.ip (mixAddrs); TestPartsOfVersion2Keys, which sorts
	// partitions by the form of their IPv4 sources, wants none.
	mixAddrs bool
}

// newLayoutPair opens the two stores in a new directory, closed at the
// end of the test, and a generator of seed. The test runs in parallel
// with the other tests of layout pairs: each has its own stores and
// changes only their settings, and each seals inline (withSealInline).
// These tests are the package's longest, run one after the other they
// set its time.
func newLayoutPair(t *testing.T, seed uint64) *layoutPair {
	t.Helper()
	skipUnderRace(t)
	t.Parallel()
	withSealInline(t)
	dir := t.TempDir()
	lp := &layoutPair{t: t, partsPath: filepath.Join(dir, "parts.db"), g: storetest.NewGenerator(seed)}
	lp.rows = openLayout(t, filepath.Join(dir, "rows.db"), Options{EventLayout: LayoutRows})
	lp.parts = openLayout(t, lp.partsPath, Options{EventLayout: LayoutParts, PartitionEvents: 300})
	t.Cleanup(func() {
		lp.rows.Close()
		lp.parts.Close()
	})
	return lp
}

// insert stores batches of 250 new events in both, with lp.mixAddrs
// some of an IPv6 source.ip, some with a destination.ip.
func (lp *layoutPair) insert(batches int) {
	lp.t.Helper()
	lp.insertWith(batches, nil)
}

// mixAddrs gives the n-th event of a layoutPair an IPv6 source.ip (one
// in 7, in 2001:db8:0:0-3::/64) and a destination.ip (one in 3, of
// either family), that the generator does not make.
func mixAddrs(t *testing.T, e *event.Event, n int) {
	t.Helper()
	set := func(k, v string) {
		if err := e.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if n%7 == 0 {
		set("source.ip", fmt.Sprintf("2001:db8:0:%x::%x", n%4, n%1000+1))
	}
	switch n % 6 {
	case 1:
		set("destination.ip", fmt.Sprintf("100.%d.%d.%d", n%5, n%256, n%250+1))
	case 4:
		set("destination.ip", fmt.Sprintf("2001:db8:0:%x:%x::1", n%3, n%100))
	}
}

// upgrade runs queries on the parts store (what makes its database one
// of an earlier version), closes it and opens it again with this version,
// which it must record.
func (lp *layoutPair) upgrade(queries ...string) {
	lp.t.Helper()
	for _, q := range queries {
		if _, err := lp.parts.write.ExecContext(lp.t.Context(), q); err != nil {
			lp.t.Fatal(err)
		}
	}
	if err := lp.parts.Close(); err != nil {
		lp.t.Fatal(err)
	}
	lp.parts = openLayout(lp.t, lp.partsPath, Options{EventLayout: LayoutParts, PartitionEvents: 300})
	var v int
	if err := lp.parts.write.QueryRowContext(lp.t.Context(), `SELECT version FROM event_layout`).Scan(&v); err != nil || v != partsVersion {
		lp.t.Fatalf("version %d (%v) after the upgrade, want %d", v, err, partsVersion)
	}
}

// partitions returns the parts store's partitions.
func (lp *layoutPair) partitions() []*partition {
	lp.parts.parts.mu.RLock()
	defer lp.parts.parts.mu.RUnlock()
	return slices.Clone(lp.parts.parts.list)
}

// compare checks that both answer every search alike, around an early
// and a late event, and that the parts store finds every event by its
// hash.
func (lp *layoutPair) compare() {
	lp.t.Helper()
	// The queries around both events, each once: most (the whole of
	// each family, the generator's networks and AS numbers) do not
	// depend on the event, and asking the same stores the same query
	// twice would find nothing new.
	queries := layoutQueries(lp.g, lp.all[100])
	seen := map[store.EventQuery]bool{}
	for _, q := range queries {
		seen[q] = true
	}
	for name, q := range layoutQueries(lp.g, lp.all[len(lp.all)-100]) {
		if !seen[q] {
			queries[name+" (late)"] = q
		}
	}
	compareQueries(lp.t, lp.rows, lp.parts, queries)
	for i, e := range lp.all {
		if _, err := lp.parts.GetEvent(lp.t.Context(), e.Hash()); err != nil {
			lp.t.Fatalf("event %d: %v", i, err)
		}
	}
}

// TestPartsAnswerLikeRows stores the same generated events in both
// layouts, the parts one in partitions of 300 (most sealed, the last hot,
// some repeats across partitions), and compares every search, page by
// page, and the counts and groupings; then reopens the parts store
// (its hot partition read back from its rows) and compares again.
func TestPartsAnswerLikeRows(t *testing.T) {
	lp := newLayoutPair(t, 5)
	// Two batches fill a partition: 5 sealed, the last batch hot.
	for range 11 {
		batch := lp.g.Batch(250)
		for i, e := range batch {
			mixAddrs(t, e, len(lp.all)+i)
		}
		// Events stored already come again: neither layout stores them twice.
		if len(lp.all) > 0 {
			batch = append(batch, lp.all[len(lp.all)/3], lp.all[len(lp.all)-1])
		}
		lp.all = append(lp.all, batch...)
		insertOnBoth(t, lp.rows, lp.parts, batch)
	}
	sealed := 0
	list := lp.partitions()
	for _, p := range list {
		if p.sealed {
			sealed++
		}
	}
	if hot := !list[len(list)-1].sealed; sealed < 5 || !hot {
		t.Fatalf("%d sealed partitions, last hot %v: the test wants several sealed and a hot one", sealed, hot)
	}
	lp.compare()
	if err := lp.parts.Close(); err != nil {
		t.Fatal(err)
	}
	lp.parts = openLayout(t, lp.partsPath, Options{})
	if lp.parts.EventLayout() != LayoutParts {
		t.Fatalf("reopened with no layout asked: %q, want the recorded %q", lp.parts.EventLayout(), LayoutParts)
	}
	lp.compare()
}

// TestLayoutIsKept refuses to open a database in the other layout.
func TestLayoutIsKept(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	parts := openLayout(t, filepath.Join(dir, "parts.db"), Options{EventLayout: LayoutParts})
	parts.Close()
	s, err := Open(ctx, filepath.Join(dir, "parts.db"), Options{EventLayout: LayoutRows})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); !errors.Is(err, errLayout) {
		t.Errorf("a parts database opened as rows: %v, want %v", err, errLayout)
	}
	s.Close()

	rows := openLayout(t, filepath.Join(dir, "rows.db"), Options{EventLayout: LayoutRows})
	if _, err := rows.InsertEvents(ctx, storetest.NewGenerator(1).Batch(3), nil); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	s, err = Open(ctx, filepath.Join(dir, "rows.db"), Options{EventLayout: LayoutParts})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); !errors.Is(err, errLayout) {
		t.Errorf("a rows database with events opened as parts: %v, want %v", err, errLayout)
	}
	s.Close()
	if _, err := Open(ctx, filepath.Join(dir, "x.db"), Options{EventLayout: "columns"}); err == nil {
		t.Error("layout \"columns\" accepted")
	}
}

// TestCorruptBlock damages a stored block: reading its events fails with
// an error that names the block, without a panic, and other partitions'
// events still read.
func TestCorruptBlock(t *testing.T) {
	withSealInline(t)
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 100})
	defer s.Close()
	g := storetest.NewGenerator(3)
	first, second := g.Batch(100), g.Batch(100)
	for _, b := range [][]*event.Event{first, second} {
		if _, err := s.InsertEvents(t.Context(), b, nil); err != nil {
			t.Fatal(err)
		}
	}
	columns, _ := encodeColumns(nil, blockRecords())
	columns = s.parts.enc.EncodeAll(columns[:len(columns)/2], []byte{blockColumns})
	for _, garbage := range [][]byte{{0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3}, {}, []byte("not zstd at all"), {blockColumns, 1, 2}, columns} {
		if _, err := s.write.ExecContext(t.Context(), `UPDATE ev_1_blocks SET data = ?`, garbage); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetEvent(t.Context(), first[0].Hash()); !errors.Is(err, errBadBlock) {
			t.Errorf("event of a damaged block: %v, want %v", err, errBadBlock)
		}
		if _, err := s.SearchEvents(t.Context(), store.EventQuery{Limit: 1000}); !errors.Is(err, errBadBlock) {
			t.Errorf("search over a damaged block: %v, want %v", err, errBadBlock)
		}
		if _, err := s.GetEvent(t.Context(), second[0].Hash()); err != nil {
			t.Errorf("event of another partition: %v", err)
		}
	}
}

// TestSummariesSkipPartitions stores events of one address, one AS and
// one host name per partition and checks that a search by each asks only
// the sealed partitions whose Bloom filters hold it.
func TestSummariesSkipPartitions(t *testing.T) {
	withSealInline(t)
	dir := t.TempDir()
	s := openLayout(t, filepath.Join(dir, "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 50})
	var batches [][]*event.Event
	for i := range 8 {
		var batch []*event.Event
		for j := range 50 {
			e := event.New(4)
			for k, v := range map[string]string{
				"time.source": event.FormatTime(time.Date(2024, 5, 1, 0, i, j, 0, time.UTC)),
				"source.ip":   fmt.Sprintf("198.%d.0.%d", 18+i, j+1),
				"source.asn":  fmt.Sprint(64500 + i),
				"source.fqdn": fmt.Sprintf("h%d.part%d.example", j, i),
			} {
				if err := e.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
			batch = append(batch, e)
		}
		if _, err := s.InsertEvents(t.Context(), batch, nil); err != nil {
			t.Fatal(err)
		}
		batches = append(batches, batch)
	}
	checkSummariesSkip(t, s)
	// Read back from the summaries at the next open too, the filters
	// again in the file mapping, and the hash filters still know every
	// stored event.
	s.Close()
	s = openLayout(t, filepath.Join(dir, "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 50})
	defer s.Close()
	checkSummariesSkip(t, s)
	if n, err := s.InsertEvents(t.Context(), batches[2], nil); err != nil || n != 0 {
		t.Errorf("a stored batch again: %d inserted (%v), want 0", n, err)
	}
}

// checkSummariesSkip is TestSummariesSkipPartitions' searches, and its
// check that the sealed partitions' filters are mapped from the file.
func checkSummariesSkip(t *testing.T, s *Store) {
	t.Helper()
	s.parts.mu.RLock()
	for _, p := range s.parts.list {
		if p.sealed && p.sum.ips.region == nil && runtime.GOOS == "linux" {
			t.Errorf("partition %d: its filters are on the heap", p.n)
		}
	}
	s.parts.mu.RUnlock()
	for name, q := range map[string]store.EventQuery{
		"ip":    {IP: netip.MustParseAddr("198.21.0.7")},
		"/16":   {Prefix: netip.MustParsePrefix("198.21.0.0/16")},
		"asn":   {ASN: 64503},
		"fqdn":  {FQDN: "part3.example"},
		"fqdn+": {FQDN: "h7.part3.example"},
	} {
		before := s.parts.sealedAsked.Load()
		page, err := s.SearchEvents(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 0 {
			t.Errorf("%s: nothing found", name)
		}
		// One partition holds the matches; a false positive of a 1%
		// filter may add one more.
		if asked := s.parts.sealedAsked.Load() - before; asked > 2 {
			t.Errorf("%s: %d sealed partitions asked of 8", name, asked)
		}
	}
}
