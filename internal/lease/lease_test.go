package lease

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

func openStore(t *testing.T) *sqlitestore.Store {
	t.Helper()
	return openStoreAt(t, filepath.Join(t.TempDir(), "vigil.db"))
}

func openStoreAt(t *testing.T, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const ttl = 300 * time.Millisecond

// running counts the jobs running at once and remembers the most.
type running struct {
	now, most atomic.Int32
	started   sync.Map // holder → true
}

func (r *running) job(holder string) func(context.Context) error {
	return func(ctx context.Context) error {
		r.started.Store(holder, true)
		if n := r.now.Add(1); n > r.most.Load() {
			r.most.Store(n)
		}
		<-ctx.Done()
		r.now.Add(-1)
		return nil
	}
}

func (r *running) has(holder string) bool { _, ok := r.started.Load(holder); return ok }

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOneAtATime: of two processes, one runs the job; when it stops, it
// releases the lease and the other takes over.
func TestOneAtATime(t *testing.T) {
	st := openStore(t)
	var r running
	ctxA, stopA := context.WithCancel(t.Context())
	doneA := make(chan error, 1)
	go func() { doneA <- Hold(ctxA, st, "notify", Options{Holder: "a", TTL: ttl, Logger: quiet}, r.job("a")) }()
	waitUntil(t, "a runs the job", func() bool { return r.has("a") })
	ctxB, stopB := context.WithCancel(t.Context())
	defer stopB()
	doneB := make(chan error, 1)
	go func() { doneB <- Hold(ctxB, st, "notify", Options{Holder: "b", TTL: ttl, Logger: quiet}, r.job("b")) }()
	time.Sleep(3 * ttl) // b tries and renews go on meanwhile
	if r.has("b") {
		t.Fatal("b runs the job while a holds the lease")
	}
	stopA()
	if err := <-doneA; err != nil {
		t.Fatalf("a: %v", err)
	}
	waitUntil(t, "b takes over", func() bool { return r.has("b") })
	if r.most.Load() != 1 {
		t.Errorf("%d jobs ran at once", r.most.Load())
	}
	stopB()
	if err := <-doneB; err != nil {
		t.Fatalf("b: %v", err)
	}
}

// TestTakeOverFromTheExpired: a lease whose holder stopped renewing it
// (died) on another machine, where this process cannot see whether it
// lives, passes to another process once it expired, not before.
func TestTakeOverFromTheExpired(t *testing.T) {
	st := openStore(t)
	taken := time.Now()
	dead := "elsewhere.example/4242/0badcafe boot=8a0f3c2e-0000-4000-8000-000000000000 pidns=4026531836 start=1"
	if held, err := st.TakeLease(t.Context(), "outbox", dead, taken, 2*ttl); err != nil || held != dead {
		t.Fatalf("TakeLease: %q, %v", held, err)
	}
	var r running
	var started atomic.Int64
	job := r.job("b")
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Hold(ctx, st, "outbox", Options{Holder: "b", TTL: ttl, Logger: quiet}, func(ctx context.Context) error {
			started.Store(time.Now().UnixNano())
			return job(ctx)
		})
	}()
	waitUntil(t, "b takes over", func() bool { return r.has("b") })
	if at := time.Unix(0, started.Load()); at.Before(taken.Add(2 * ttl)) {
		t.Errorf("b started %v after the dead holder took the lease, before it expired (%v)", at.Sub(taken), 2*ttl)
	}
	stop()
	<-done
}

// TestLost: a process that finds its lease taken (it could not renew it
// in time, and another took it) stops the job and does not start it again.
func TestLost(t *testing.T) {
	st := openStore(t)
	var r running
	done := make(chan error, 1)
	go func() {
		done <- Hold(t.Context(), st, "notify", Options{Holder: "a", TTL: ttl, Logger: quiet}, r.job("a"))
	}()
	waitUntil(t, "a runs the job", func() bool { return r.has("a") })
	// Another process whose clock is past a's lease takes it.
	if held, err := st.TakeLease(t.Context(), "notify", "thief", time.Now().Add(2*ttl), time.Hour); err != nil || held != "thief" {
		t.Fatalf("thief: %q, %v", held, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Hold after losing the lease: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a's job still runs after its lease was taken")
	}
	if r.now.Load() != 0 {
		t.Error("the job was not stopped")
	}
}
