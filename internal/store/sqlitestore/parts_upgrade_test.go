package sqlitestore

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestUpgradeLayoutRereadsTheVersion upgrades a version 3 database as an
// Open that read the version before another process upgraded it would:
// a version this build writes is left alone, a later one is refused and
// not written back down, and an earlier one gains the columns once.
func TestUpgradeLayoutRereadsTheVersion(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	ctx := t.Context()
	version := func() int {
		t.Helper()
		var v int
		if err := s.write.QueryRowContext(ctx, `SELECT max(version) FROM event_layout`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	set := func(q string, args ...any) {
		t.Helper()
		if _, err := s.write.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}

	set(`UPDATE event_layout SET version = ?`, partsVersion+1)
	if err := s.upgradeLayout(ctx); !errors.Is(err, errLayout) {
		t.Errorf("upgrading a database a later build wrote: %v, want errLayout", err)
	}
	if v := version(); v != partsVersion+1 {
		t.Errorf("version %d after the refusal, want %d left", v, partsVersion+1)
	}

	set(`UPDATE event_layout SET version = ?`, partsVersion)
	if err := s.upgradeLayout(ctx); err != nil {
		t.Errorf("upgrading a database upgraded meanwhile: %v", err)
	}

	for _, q := range []string{`ALTER TABLE event_parts DROP COLUMN ts_base`, `ALTER TABLE event_parts DROP COLUMN sealed_as`, `UPDATE event_layout SET version = 3`} {
		set(q)
	}
	for range 2 {
		if err := s.upgradeLayout(ctx); err != nil {
			t.Fatalf("upgrading version 3: %v", err)
		}
	}
	if v := version(); v != partsVersion {
		t.Errorf("version %d after the upgrade, want %d", v, partsVersion)
	}
	var cols int
	if err := s.write.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('event_parts') WHERE name IN ('ts_base', 'sealed_as')`).Scan(&cols); err != nil || cols != 2 {
		t.Errorf("event_parts has %d of ts_base and sealed_as (%v), want 2", cols, err)
	}
}
