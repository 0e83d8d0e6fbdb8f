package told_test

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb/outboxtest"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestCommitHoldsItsPages commits, on SQLite with a writer cache of 1
// MiB, a batch of 8 MB of messages that fails at its last message: the
// transaction's pages stay in the cache until the commit, so that none
// is written to the WAL twice, and the WAL does not grow. Spilled to the
// WAL before the failure, they would have grown it by the batch's size.
func TestCommitHoldsItsPages(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "vigil.db")
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Synchronous: "OFF", CacheMiB: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx, database.Schemas...); err != nil {
		t.Fatal(err)
	}
	a := storetest.Organisation(t, st, "a")
	s := told.New(st.DB(), st)
	// Bodies that do not compress: what is written is their size.
	rnd := rand.New(rand.NewPCG(1, 2))
	body := make([]byte, 64<<10)
	var c notify.NotificationCommit
	for i := range 128 {
		for k := range body {
			body[k] = byte(rnd.Uint32())
		}
		c.Messages = append(c.Messages, outboxtest.Message("a", a.ID, fmt.Sprintf("%d.digest@cert.example", i), "From: cert\r\n\r\n"+string(body)))
	}
	c.Messages = append(c.Messages, outboxtest.Message("a", a.ID, "0.digest@cert.example", "From: cert\r\n\r\nagain"))
	spill := spillPages(t, st)
	for try := range 2 { // the second in a transaction of its own too
		before := walSize(t, path)
		if err := s.CommitNotifications(ctx, &c); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("CommitNotifications with a Message-ID given twice = %v, want ErrConflict", err)
		}
		if grown := walSize(t, path) - before; grown > 1<<20 {
			t.Errorf("try %d: the WAL grew by %d bytes in a commit that failed, want the pages held until the commit", try+1, grown)
		}
	}
	c.Messages = c.Messages[:len(c.Messages)-1]
	if err := s.CommitNotifications(ctx, &c); err != nil {
		t.Fatalf("CommitNotifications: %v", err)
	}
	var queued int
	if err := st.DB().QueryRow(ctx, `SELECT count(*) FROM outbox_messages WHERE status = ?`, outbox.MessageQueued).Scan(&queued); err != nil || queued != 128 {
		t.Errorf("%d messages queued, %v; want 128", queued, err)
	}
	// The writer's other transactions spill as before.
	if got := spillPages(t, st); got != spill {
		t.Errorf("the writer's spill threshold after the commits = %d pages, want %d as before", got, spill)
	}
}

// spillPages is the spill threshold of st's writer.
func spillPages(t *testing.T, st store.Store) int {
	t.Helper()
	var n int
	if err := st.DB().Tx(t.Context(), func(tx sqlkit.DB) error { return tx.QueryRow(t.Context(), "PRAGMA cache_spill").Scan(&n) }); err != nil {
		t.Fatal(err)
	}
	return n
}

func walSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path + "-wal")
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
