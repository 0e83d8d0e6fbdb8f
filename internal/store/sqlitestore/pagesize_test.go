package sqlitestore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
)

// pragmaInt reads an integer pragma on the writer's connection.
func pragmaInt(t *testing.T, st *Store, name string) int64 {
	t.Helper()
	var v int64
	if err := st.write.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

// TestPageSize checks that a new database gets the page size asked for
// (the driver runs the DSN's pragmas by name, auto_vacuum and
// journal_mode before page_size, which then no longer takes), with
// auto_vacuum INCREMENTAL, and that an existing database keeps its own.
func TestPageSize(t *testing.T) {
	ctx := context.Background()
	open := func(t *testing.T, path string, pageBytes int) *Store {
		t.Helper()
		st, err := Open(ctx, path, Options{Synchronous: "OFF", PageBytes: pageBytes})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			t.Fatal(err)
		}
		return st
	}
	insert := func(t *testing.T, st *Store, from int) {
		t.Helper()
		events := make([]*event.Event, 0, 100)
		for i := range 100 {
			e := event.New(4)
			e.SetTrusted("source.ip", "192.0.2.1")
			e.SetInt("source.port", int64(from+i))
			events = append(events, e)
		}
		if _, err := st.InsertEvents(ctx, events, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, pageBytes := range []int{4096, 16384, 32768} {
		t.Run(fmt.Sprintf("new %d", pageBytes), func(t *testing.T) {
			st := open(t, filepath.Join(t.TempDir(), "vigil.db"), pageBytes)
			defer st.Close()
			if got := pragmaInt(t, st, "page_size"); got != int64(pageBytes) {
				t.Errorf("page size %d, want %d", got, pageBytes)
			}
			if got := pragmaInt(t, st, "auto_vacuum"); got != 2 {
				t.Errorf("auto_vacuum %d, want 2 (incremental)", got)
			}
			if st.walFrameBytes != int64(pageBytes)+walFrameHeaderBytes {
				t.Errorf("WAL frame of %d bytes, want %d", st.walFrameBytes, pageBytes+walFrameHeaderBytes)
			}
			insert(t, st, 0)
		})
	}
	t.Run("existing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "vigil.db")
		st := open(t, path, 4096)
		insert(t, st, 0)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		st = open(t, path, 16384)
		defer st.Close()
		if got := pragmaInt(t, st, "page_size"); got != 4096 {
			t.Errorf("an existing database's page size became %d, want its 4096", got)
		}
		if got := pragmaInt(t, st, "auto_vacuum"); got != 2 {
			t.Errorf("auto_vacuum %d, want 2 (incremental)", got)
		}
		if st.walFrameBytes != 4096+walFrameHeaderBytes {
			t.Errorf("WAL frame of %d bytes, want %d", st.walFrameBytes, 4096+walFrameHeaderBytes)
		}
		insert(t, st, 100)
		if n, err := st.CountEvents(ctx); err != nil || n != 200 {
			t.Errorf("CountEvents = %d, %v; want 200", n, err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		for _, pageBytes := range []int{256, 5000, 131072} {
			if st, err := Open(ctx, filepath.Join(t.TempDir(), "vigil.db"), Options{PageBytes: pageBytes}); err == nil {
				st.Close()
				t.Errorf("page size %d taken", pageBytes)
			}
		}
	})
}
