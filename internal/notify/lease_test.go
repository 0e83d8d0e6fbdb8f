package notify

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/lease"
)

// TestTwoProcessesOneLease runs two notifiers on one database, each under
// the "notify" lease as vigil serve runs them: the organisation's events
// are told once, in one digest, whichever process makes the pass.
func TestTwoProcessesOneLease(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Interval = time.Second })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	second, err := New(e.n.cfg, Deps{Store: e.db, Identity: teamIdentity, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var events []map[string]string
	for i := range 20 {
		events = append(events, scan(fmt.Sprintf("192.0.2.%d", i+1)))
	}
	e.put(events)
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 2)
	for i, n := range []*Notifier{e.n, second} {
		go func() {
			done <- lease.Hold(ctx, e.db, "notify", lease.Options{Holder: fmt.Sprint("process-", i), TTL: 900 * time.Millisecond, Logger: quiet}, n.Run)
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for e.pending() != 0 || len(e.messages()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not notified: %d pending, %d messages", e.pending(), len(e.messages()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // more passes of whichever holds the lease
	stop()
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("Hold: %v", err)
		}
	}
	if msgs := e.messages(); len(msgs) != 1 || msgs[0].Events != 20 {
		t.Fatalf("%d messages (the first of %d events), want one digest of 20", len(msgs), msgs[0].Events)
	}
}
