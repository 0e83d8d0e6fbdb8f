package sqlitestore

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestPartsOfVersion2Keys writes partitions as layout version 2 did (IPv4
// addresses in 16 bytes), reopens the database with this version and
// writes on, into the partition hot at the time too, so that sealed
// partitions of both forms and one holding both are searched together;
// every search answers as the rows layout does.
func TestPartsOfVersion2Keys(t *testing.T) {
	skipUnderRace(t)
	withSealInline(t)
	dir := t.TempDir()
	rows := openLayout(t, filepath.Join(dir, "rows.db"), Options{EventLayout: LayoutRows})
	defer rows.Close()
	partsPath := filepath.Join(dir, "parts.db")
	opts := Options{EventLayout: LayoutParts, PartitionEvents: 300}
	parts := openLayout(t, partsPath, opts)
	g := storetest.NewGenerator(7)
	var all []*event.Event
	insert := func(n int) {
		for range n {
			batch := g.Batch(250)
			all = append(all, batch...)
			insertOnBoth(t, rows, parts, batch)
		}
	}
	shortIPv4 = false
	t.Cleanup(func() { shortIPv4 = true })
	insert(5)
	if _, err := parts.write.ExecContext(t.Context(), `UPDATE event_layout SET version = 2`); err != nil {
		t.Fatal(err)
	}
	if err := parts.Close(); err != nil {
		t.Fatal(err)
	}
	shortIPv4 = true
	parts = openLayout(t, partsPath, opts)
	defer parts.Close()
	var v int
	if err := parts.write.QueryRowContext(t.Context(), `SELECT version FROM event_layout`).Scan(&v); err != nil || v != partsVersion {
		t.Fatalf("version %d (%v) after opening version 2, want %d", v, err, partsVersion)
	}
	insert(5)
	// Both forms are stored, in sealed partitions, and one partition
	// holds both.
	parts.parts.mu.RLock()
	list := parts.parts.list
	parts.parts.mu.RUnlock()
	var short, long, mixed int
	for _, p := range list {
		var n4, n16 int
		err := parts.write.QueryRowContext(t.Context(), `SELECT count(*) FILTER (WHERE length(src_ip) = 4), count(*) FILTER (WHERE length(src_ip) = 16) FROM `+p.table).Scan(&n4, &n16)
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
	compareLayouts(t, rows, parts, g, all[100])
	compareLayouts(t, rows, parts, g, all[len(all)-100])
	for i, e := range all {
		if _, err := parts.GetEvent(t.Context(), e.Hash()); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
}

// TestHashQueryReadsIndex: the lookup of hashes reads a sealed
// partition's index of h8, of either version, not its rows.
func TestHashQueryReadsIndex(t *testing.T) {
	withSealInline(t)
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 100})
	defer s.Close()
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
