package sqlitestore

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

func openTemp(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "vigil.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestContract runs the contract on the rows layout. Under -race it runs
// the subtests that use the store from several goroutines at once only
// (storetest.RunConcurrent): the others ask the rows layout on the test's
// goroutine, and their answers are checked by the run without -race;
// TestContractParts runs all of the contract under -race, which covers
// the code both layouts share (dead letters, state, leases, the queue,
// organisations) beside the store's own goroutines.
func TestContract(t *testing.T) {
	open := func(t *testing.T) store.Store { return openTemp(t, Options{EventLayout: LayoutRows}) }
	if raceDetector {
		storetest.RunConcurrent(t, open)
		return
	}
	storetest.Run(t, open)
}

// TestContractTimeScan runs the contract with every range search walking
// the time index, the plan large ranges take, so both plans are checked.
// Only the plan differs from TestContract, chosen and run on the caller's
// goroutine: under -race, TestContract watches the same store's
// concurrency, and this second pass took the race detector over a minute.
func TestContractTimeScan(t *testing.T) {
	skipUnderRace(t)
	covered, lookups := rangeCapCovered, rangeCapLookups
	rangeCapCovered, rangeCapLookups = 1, 1
	t.Cleanup(func() { rangeCapCovered, rangeCapLookups = covered, lookups })
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t, Options{EventLayout: LayoutRows}) })
}

func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%20chars")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), filepath.Join(dir, "vigil.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "vigil.db")); err != nil {
		t.Errorf("database not at the given path: %v", err)
	}
}

// The readers map the database file (so a fresh connection does not copy
// its pages into its own cache); the writer does not.
func TestReadersMapTheFile(t *testing.T) {
	s := openTemp(t, Options{})
	for name, db := range map[string]*sql.DB{"reader": s.read, "writer": s.write} {
		var size int64
		if err := db.QueryRowContext(t.Context(), "PRAGMA mmap_size").Scan(&size); err != nil {
			t.Fatalf("%s: PRAGMA mmap_size: %v", name, err)
		}
		want := int64(0)
		if name == "reader" {
			want = readerMapBytes
		}
		if size != want {
			t.Errorf("%s: mmap_size %d, want %d", name, size, want)
		}
	}
}

func TestOptions(t *testing.T) {
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "x.db"), Options{Synchronous: "sometimes"}); err == nil {
		t.Error("Open with synchronous=sometimes: no error")
	}
	s := openTemp(t, Options{Synchronous: "normal"})
	var sync, mode string
	if err := s.write.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if err := s.write.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if sync != "1" || mode != "wal" {
		t.Errorf("synchronous = %s, journal_mode = %s; want 1 (NORMAL) and wal", sync, mode)
	}
	d := openTemp(t, Options{})
	if err := d.write.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if sync != "2" {
		t.Errorf("default synchronous = %s, want 2 (FULL)", sync)
	}
	if _, err := d.read.ExecContext(t.Context(), "CREATE TABLE x (y)"); err == nil {
		t.Error("a reader connection could write")
	}
}
