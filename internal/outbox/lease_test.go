package outbox_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// hangingLeases is a store whose lease renewals hang, once hang is set,
// until their context ends: a database that stopped answering.
type hangingLeases struct {
	*sqlitestore.Store
	hang atomic.Bool
}

func (h *hangingLeases) TakeLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (string, error) {
	if h.hang.Load() {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return h.Store.TakeLease(ctx, name, holder, now, ttl)
}

// TestLeaseEndsDuringDelivery: the sender runs under its lease as vigil
// serve runs it; the lease cannot be renewed while a message is on its
// way (the relay holds its RCPT), so the job's term ends: the message is
// not delivered and stays queued as it was, for whichever process holds
// the lease next. Once the store answers again, this process runs the
// sender again and delivers it, once.
func TestLeaseEndsDuringDelivery(t *testing.T) {
	relay := newTestRelay(t, relayOptions{})
	quiet := slog.New(slog.DiscardHandler)
	db, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context(), outboxdb.Schema); err != nil {
		t.Fatal(err)
	}
	st := outboxdb.New(db.DB(), db)
	leases := &hangingLeases{Store: db}
	sender := newTestSender(t, relay.config(t), st, outbox.WithPollInterval(50*time.Millisecond))

	// The relay's first RCPT waits until the job's term ended.
	jobs := make(chan context.Context, 2)
	var held atomic.Bool
	relay.rcptHook = func() {
		if held.CompareAndSwap(false, true) {
			leases.hang.Store(true)
			ctx := <-jobs
			<-ctx.Done()
		}
	}
	var returned atomic.Int32
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- lease.Hold(ctx, leases, "outbox", lease.Options{TTL: 3 * time.Second, Logger: quiet}, func(ctx context.Context) error {
			jobs <- ctx
			defer returned.Add(1)
			return sender.Run(ctx)
		})
	}()
	m := queue(t, st, outbox.Message{})[0]
	sender.Kick()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("the sender stops at the end of its term", func() bool { return returned.Load() == 1 })
	if got := relay.received(); len(got) != 0 {
		t.Fatalf("the relay received %d messages after the lease's term ended during the delivery", len(got))
	}
	if after := getMessage(t, st, m.ID); after.Status != outbox.MessageQueued || after.Attempts != 0 {
		t.Fatalf("after the term ended: %s after %d attempts; want queued as it was", after.Status, after.Attempts)
	}
	leases.hang.Store(false)
	waitFor("the message is sent by the job run again", func() bool { return len(relay.received()) == 1 })
	waitFor("it is recorded as sent", func() bool { return getMessage(t, st, m.ID).Status == outbox.MessageSent })
	stop()
	if err := <-done; err != nil {
		t.Errorf("Hold: %v", err)
	}
	if got := relay.received(); len(got) != 1 {
		t.Errorf("the relay received %d messages, want 1", len(got))
	}
}
