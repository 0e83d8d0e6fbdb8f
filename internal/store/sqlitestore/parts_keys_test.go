package sqlitestore

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestPartsOfVersion2Keys writes partitions as layout version 2 did (IPv4
// addresses in 16 bytes), reopens the database with this version and
// writes on, into the partition hot at the time too, so that sealed
// partitions of both forms and one holding both are searched together;
// every search answers as the rows layout does.
func TestPartsOfVersion2Keys(t *testing.T) {
	lp := newLayoutPair(t, 7)
	lp.parts.parts.writeVersion = 2
	// Three batches: a partition (two batches) sealed as 2, the third
	// batch in the hot one.
	lp.insert(3)
	lp.upgrade(`UPDATE event_layout SET version = 2`)
	// Sealed as 6, which keeps the compact rows and the forms they hold:
	// that one, holding both forms, and another.
	lp.parts.parts.writeVersion = 6
	lp.insert(3)
	// Both forms are stored, in sealed partitions, and one partition
	// holds both.
	var short, long, mixed int
	for _, p := range lp.partitions() {
		var n4, n16 int
		err := lp.parts.write.QueryRowContext(t.Context(), `SELECT count(*) FILTER (WHERE length(src_ip) = 4), count(*) FILTER (WHERE length(src_ip) = 16) FROM `+p.table).Scan(&n4, &n16)
		if err != nil {
			t.Fatal(err)
		}
		if !p.sealed {
			continue
		}
		switch {
		case n4 > 0 && n16 > 0:
			mixed++
		case n4 > 0:
			short++
		case n16 > 0:
			long++
		}
	}
	if short == 0 || long == 0 || mixed == 0 {
		t.Fatalf("sealed partitions: %d with 4-byte addresses, %d with 16-byte ones, %d with both; the test wants each", short, long, mixed)
	}
	lp.compare()
}

// TestHashQueryReadsIndex: the lookup of hashes reads a sealed
// partition's index of h8, of either version (2, 3 to 5), not its rows.
func TestHashQueryReadsIndex(t *testing.T) {
	withSealInline(t)
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 100})
	defer s.Close()
	s.parts.writeVersion = 5 // version 6 has runs instead (TestHashRunsFindEvents)
	g := storetest.NewGenerator(3)
	batch := g.Batch(150)
	if _, err := s.InsertEvents(t.Context(), batch, nil); err != nil {
		t.Fatal(err)
	}
	plan := func(table string) string {
		rows, err := s.write.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+hashQuery(table, 2), 1, 2, 3, 4)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			out += detail + "; "
		}
		return out
	}
	if p := plan("ev_1"); !strings.Contains(p, "INDEX ev_1_h4") {
		t.Errorf("version 3: plan %q, want the index ev_1_h4", p)
	}
	// A partition sealed by version 2 has an index of h8 whole.
	for _, q := range []string{`DROP INDEX ev_1_h4`, `CREATE INDEX ev_1_h8 ON ev_1 (h8)`} {
		if _, err := s.write.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	if p := plan("ev_1"); !strings.Contains(p, "INDEX ev_1_h8") {
		t.Errorf("version 2: plan %q, want the index ev_1_h8", p)
	}
	for i, e := range batch[:100] {
		if _, err := s.GetEvent(t.Context(), e.Hash()); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
}
