package lease

import (
	"context"
	"errors"
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

// ttl is the tests' time to live: long enough that a loaded machine renews in
// time (a renewal slower than ttl/3 ends the term).
const ttl = time.Second

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
// in time, and another took it) stops the job, waits, and runs the job
// again once it holds the lease anew.
func TestLost(t *testing.T) {
	st := openStore(t)
	var r running
	var starts atomic.Int32
	job := r.job("a")
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Hold(ctx, st, "notify", Options{Holder: "a", TTL: ttl, Logger: quiet}, func(ctx context.Context) error {
			starts.Add(1)
			return job(ctx)
		})
	}()
	waitUntil(t, "a runs the job", func() bool { return r.has("a") })
	// Another process whose clock is past a's lease takes it.
	if held, err := st.TakeLease(t.Context(), "notify", "thief", time.Now().Add(2*ttl), time.Hour); err != nil || held != "thief" {
		t.Fatalf("thief: %q, %v", held, err)
	}
	waitUntil(t, "a's job stops", func() bool { return r.now.Load() == 0 })
	time.Sleep(3 * ttl) // a tries to take the lease meanwhile
	if n := starts.Load(); n != 1 {
		t.Fatalf("the job started %d times while the thief held the lease, want 1", n)
	}
	select {
	case err := <-done:
		t.Fatalf("Hold returned (%v) after losing the lease: it should wait for it", err)
	default:
	}
	if err := st.ReleaseLease(t.Context(), "notify", "thief"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a runs the job again", func() bool { return starts.Load() == 2 && r.now.Load() == 1 })
	stop()
	if err := <-done; err != nil {
		t.Errorf("Hold: %v", err)
	}
}

// hanging is a store whose renewals hang, once hang is set, until their
// context ends: a database that stopped answering.
type hanging struct {
	*sqlitestore.Store
	hang atomic.Bool
}

func (h *hanging) TakeLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (string, error) {
	if h.hang.Load() {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return h.Store.TakeLease(ctx, name, holder, now, ttl)
}

// TestRenewalHangs: when renewing hangs, the job is stopped at the end of
// its term, its context's cause ErrLapsed and Check saying so, and the
// process waits for the lease again, without hanging itself; once the
// store answers again the job runs again.
func TestRenewalHangs(t *testing.T) {
	st := &hanging{Store: openStore(t)}
	var starts atomic.Int32
	causes := make(chan error, 2)
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Hold(ctx, st, "outbox", Options{Holder: "a", TTL: ttl, Logger: quiet}, func(ctx context.Context) error {
			starts.Add(1)
			if err := Check(ctx); err != nil {
				t.Errorf("Check at the start of the term: %v", err)
			}
			<-ctx.Done()
			causes <- Check(ctx)
			return nil
		})
	}()
	waitUntil(t, "a runs the job", func() bool { return starts.Load() == 1 })
	st.hang.Store(true)
	var cause error
	select {
	case cause = <-causes:
	case <-time.After(30 * time.Second):
		t.Fatal("the job still runs 30s after its renewals began to hang")
	}
	if !errors.Is(cause, ErrLapsed) {
		t.Errorf("Check after the term: %v, want ErrLapsed", cause)
	}
	st.hang.Store(false)
	waitUntil(t, "a runs the job again", func() bool { return starts.Load() == 2 })
	stop()
	if err := <-done; err != nil {
		t.Errorf("Hold: %v", err)
	}
	if cause := <-causes; cause == nil || errors.Is(cause, ErrLapsed) {
		t.Errorf("Check after Hold's context ended: %v, want the context's end", cause)
	}
}

// TestCheck: Check reads the clock, not the term's timer: a job whose
// term is over is told so and cancelled at once, contexts derived from
// its own included; a context of no job under a lease only says whether
// it ended.
func TestCheck(t *testing.T) {
	jobCtx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	tm := &term{name: "outbox", base: time.Now(), cancel: cancel}
	tm.extend(tm.base.Add(time.Hour))
	jobCtx = context.WithValue(jobCtx, termKey{}, tm)
	derived, stopDerived := context.WithCancel(jobCtx)
	defer stopDerived()
	if err := Check(derived); err != nil {
		t.Fatalf("Check within the term: %v", err)
	}
	tm.extend(tm.base.Add(-time.Millisecond)) // the term is over; no timer runs
	if err := Check(derived); !errors.Is(err, ErrLapsed) {
		t.Fatalf("Check past the term: %v, want ErrLapsed", err)
	}
	if derived.Err() == nil || jobCtx.Err() == nil {
		t.Error("Check past the term did not cancel the job")
	}
	if err := Check(t.Context()); err != nil {
		t.Errorf("Check of a context under no lease: %v", err)
	}
	over, end := context.WithCancel(t.Context())
	end()
	if err := Check(over); !errors.Is(err, context.Canceled) {
		t.Errorf("Check of an ended context under no lease: %v", err)
	}
}
