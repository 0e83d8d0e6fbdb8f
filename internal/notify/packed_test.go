package notify

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/vigil-cert/vigil/internal/notify/falsepositive"
	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// packedLedger is a store that notes, for every commit, the arrays of
// its messages' packed bodies and a copy of what they held.
type packedLedger struct {
	Store
	mu      sync.Mutex
	commits [][]packedSeen
}

type packedSeen struct {
	array *byte
	body  []byte
}

func (l *packedLedger) CommitNotifications(ctx context.Context, c *NotificationCommit) error {
	var seen []packedSeen
	for _, m := range c.Messages {
		seen = append(seen, packedSeen{array: unsafe.SliceData(m.Packed), body: bytes.Clone(m.Packed)})
	}
	l.mu.Lock()
	l.commits = append(l.commits, seen)
	l.mu.Unlock()
	return l.Store.CommitNotifications(ctx, c)
}

// TestPackedArraysReused: a pass of several commits packs messages into
// the arrays of messages it committed before, and what the outbox holds
// is what each commit was given (an array is not reused before the store
// copied it).
func TestPackedArraysReused(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := t.Context()
	st, orgs := openTestStore(t, filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{Synchronous: "OFF", Logger: quiet})
	defer st.Close()
	now := time.Now()
	store := withSettings{st, orgs, told.New(st.DB(), st), newMemSettings(), falsepositive.New(st.DB())}
	// More organisations than one commit takes (commitOrgs).
	spec := BenchSpec{Organisations: 3 * commitOrgs, Prefixes: 6 * commitOrgs, Events: 6000, Seed: 3, Now: now}
	if err := LoadBench(ctx, store, spec, nil); err != nil {
		t.Fatal(err)
	}
	armored, err := pgpmime.GenerateIdentity("Vigil test", "test@example.org", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	id, err := pgpmime.ParseIdentity(armored, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Enabled, cfg.From, cfg.Workers = true, "Vigil test <test@example.org>", 1
	ledger := &packedLedger{Store: store}
	n, err := New(cfg, Deps{Store: ledger, Identity: id, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := n.RunOnce(ctx, now)
	if err != nil || len(rep.Errors) > 0 || rep.Consumed != spec.Events {
		t.Fatalf("pass: %+v, %v", rep, err)
	}
	if len(ledger.commits) < 2 {
		t.Fatalf("%d commits, want several", len(ledger.commits))
	}
	before, reused := map[*byte]bool{}, 0
	var given [][]byte
	for _, c := range ledger.commits {
		for _, m := range c {
			if before[m.array] {
				reused++
			}
			given = append(given, m.body)
		}
		for _, m := range c {
			before[m.array] = true
		}
	}
	if reused == 0 {
		t.Errorf("no commit's message was packed into the array of an earlier commit's")
	}
	i := 0
	err = st.DB().Each(ctx, "SELECT body FROM outbox_messages ORDER BY id", nil, func(rows sqlkit.Row) error {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return err
		}
		if i >= len(given) || !bytes.Equal(body, given[i]) {
			t.Fatalf("stored message %d is not the body its commit was given", i+1)
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if i != len(given) {
		t.Fatalf("%d messages stored, %d committed", i, len(given))
	}
}
