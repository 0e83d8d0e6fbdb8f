package sqlitestore

import (
	"path/filepath"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestPartsOfVersion3Times writes partitions as layout version 3 did
// (absolute times, no event_parts.ts_base), reopens the database with
// this version and writes on, so that sealed partitions of absolute and
// of relative times are searched together, the one hot at the upgrade
// among them; every search answers as the rows layout does, and a
// version 4 partition's rows hold times that fit in 6 bytes.
func TestPartsOfVersion3Times(t *testing.T) {
	skipUnderRace(t)
	withSealInline(t)
	dir := t.TempDir()
	rows := openLayout(t, filepath.Join(dir, "rows.db"), Options{EventLayout: LayoutRows})
	defer rows.Close()
	partsPath := filepath.Join(dir, "parts.db")
	opts := Options{EventLayout: LayoutParts, PartitionEvents: 300}
	parts := openLayout(t, partsPath, opts)
	g := storetest.NewGenerator(11)
	var all []*event.Event
	insert := func(n int) {
		for range n {
			batch := g.Batch(250)
			all = append(all, batch...)
			insertOnBoth(t, rows, parts, batch)
		}
	}
	relativeTS = false
	t.Cleanup(func() { relativeTS = true })
	insert(5)
	for _, q := range []string{`ALTER TABLE event_parts DROP COLUMN ts_base`, `UPDATE event_layout SET version = 3`} {
		if _, err := parts.write.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	if err := parts.Close(); err != nil {
		t.Fatal(err)
	}
	relativeTS = true
	parts = openLayout(t, partsPath, opts)
	defer parts.Close()
	var v int
	if err := parts.write.QueryRowContext(t.Context(), `SELECT version FROM event_layout`).Scan(&v); err != nil || v != partsVersion {
		t.Fatalf("version %d (%v) after opening version 3, want %d", v, err, partsVersion)
	}
	insert(5)
	parts.parts.mu.RLock()
	list := parts.parts.list
	parts.parts.mu.RUnlock()
	var absolute, relative int
	for _, p := range list {
		var base, big int64
		if err := parts.write.QueryRowContext(t.Context(), `SELECT ts_base FROM event_parts WHERE id = ?`, p.n).Scan(&base); err != nil {
			t.Fatal(err)
		}
		if base != p.base {
			t.Fatalf("partition %d: ts_base %d, the memory holds %d", p.n, base, p.base)
		}
		if err := parts.write.QueryRowContext(t.Context(), `SELECT count(*) FROM `+p.table+` WHERE abs(ts) >= 1 << 47`).Scan(&big); err != nil {
			t.Fatal(err)
		}
		switch {
		case !p.sealed:
		case base == 0:
			absolute++
		case big == 0:
			relative++
		default:
			t.Errorf("partition %d (base %d): %d times of more than 6 bytes", p.n, base, big)
		}
	}
	if absolute == 0 || relative == 0 {
		t.Fatalf("sealed partitions: %d of absolute times, %d of relative ones; the test wants both", absolute, relative)
	}
	compareLayouts(t, rows, parts, g, all[100])
	compareLayouts(t, rows, parts, g, all[len(all)-100])
	for i, e := range all {
		if _, err := parts.GetEvent(t.Context(), e.Hash()); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
}
