package constituency_test

import (
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// The directory's tests are an external package: they keep the
// constituency in its store, constituencydb, which imports constituency.

var (
	NewDirectory = constituency.NewDirectory
	belgium      = constituency.Belgium
)

type DirectoryOptions = constituency.DirectoryOptions

// openSQLite opens a SQLite database with every capability's schema (an
// organisation's deletion asks the accounts whether users belong to it)
// and returns the event store with the constituency kept on it.
func openSQLite(t testing.TB) (*sqlitestore.Store, *constituencydb.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{Synchronous: "OFF", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx, database.Schemas...); err != nil {
		t.Fatal(err)
	}
	return st, database.Constituency(st.DB())
}

func openStore(t testing.TB) *constituencydb.Store {
	t.Helper()
	st, orgs := openSQLite(t)
	t.Cleanup(func() { st.Close() })
	return orgs
}

var quiet = slog.New(slog.DiscardHandler)

var testAddr = netip.MustParseAddr("192.0.2.130")

func TestDirectoryReload(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	d := NewDirectory(st, DirectoryOptions{})
	if h, ok := d.OwnerOf(testAddr, 0, ""); ok || d.Version() != -1 {
		t.Fatalf("before the first load: %q, version %d", h, d.Version())
	}
	if _, err := st.ImportOrganisations(ctx, belgium(), false); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _ := d.OwnerOf(testAddr, 0, ""); h != "chu-liege" {
		t.Fatalf("OwnerOf = %q, want chu-liege", h)
	}
	old := d.Table()
	chu, err := st.GetOrganisationByHandle(ctx, "chu-liege")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteOrganisation(ctx, chu.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _ := d.OwnerOf(testAddr, 0, ""); h != "uliege" {
		t.Errorf("after the deletion OwnerOf = %q, want uliege", h)
	}
	if h, _ := old.OwnerOf(testAddr, 0, ""); h != "chu-liege" {
		t.Errorf("a table held by a reader changed: %q", h)
	}
	if v, _ := st.ConstituencyVersion(ctx); d.Version() != v {
		t.Errorf("Version = %d, the store's %d", d.Version(), v)
	}
}

// TestDirectoryRunFollowsTheStore is a second process's view: another
// directory (the console's) changes the store, this one notices by
// polling.
func TestDirectoryRunFollowsTheStore(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := openStore(t)
	d := NewDirectory(st, DirectoryOptions{PollInterval: 10 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	if _, err := st.ImportOrganisations(ctx, belgium(), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { h, _ := d.OwnerOf(testAddr, 0, ""); return h == "chu-liege" })

	o, err := st.GetOrganisationByHandle(ctx, "kuleuven")
	if err != nil {
		t.Fatal(err)
	}
	o.Networks = append(o.Networks, netip.MustParsePrefix("203.0.113.0/24"))
	if err := st.UpdateOrganisation(ctx, &o); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { h, _ := d.OwnerOf(netip.MustParseAddr("203.0.113.5"), 0, ""); return h == "kuleuven" })

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil when the context ends", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("the directory did not follow the store within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDirectorySwapUnderLoad reloads while readers look up without pause:
// every answer must be one of the two constituencies' answers, never a
// mixture or a failure (run it with -race).
func TestDirectorySwapUnderLoad(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	first := belgium()
	second := belgium()
	second[1].Networks = nil // chu-liege loses its networks: uliege owns them
	if _, err := st.ImportOrganisations(ctx, first, true); err != nil {
		t.Fatal(err)
	}
	d := NewDirectory(st, DirectoryOptions{})
	if err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	var (
		stop    atomic.Bool
		lookups atomic.Int64
		wg      sync.WaitGroup
	)
	for range 2 { // as many as this machine's cores: more starve the reloads under -race
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				h, ok := d.OwnerOf(testAddr, 0, "")
				if !ok || (h != "chu-liege" && h != "uliege") {
					t.Errorf("OwnerOf during reloads = %q, %v", h, ok)
					return
				}
				lookups.Add(1)
			}
		}()
	}
	for i := range 20 {
		orgs := first
		if i%2 == 0 {
			orgs = second
		}
		if _, err := st.ImportOrganisations(ctx, orgs, true); err != nil {
			t.Fatal(err)
		}
		if err := d.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if lookups.Load() == 0 {
		t.Fatal("no lookups ran")
	}
	if h, _ := d.OwnerOf(testAddr, 0, ""); h != "chu-liege" {
		t.Errorf("after the last reload OwnerOf = %q, want chu-liege", h)
	}
}

func TestDirectoryKeepsTheTableWhenTheStoreFails(t *testing.T) {
	ctx := context.Background()
	db, st := openSQLite(t)
	if _, err := st.ImportOrganisations(ctx, belgium(), false); err != nil {
		t.Fatal(err)
	}
	d := NewDirectory(st, DirectoryOptions{})
	if err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close() // the database goes away
	if err := d.Reload(ctx); err == nil {
		t.Fatal("Reload over a closed store succeeded")
	}
	if h, _ := d.OwnerOf(testAddr, 0, ""); h != "chu-liege" {
		t.Errorf("after a failed reload OwnerOf = %q, want the old table's chu-liege", h)
	}
}
