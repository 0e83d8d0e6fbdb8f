// Package lease runs a job in only one of several processes that share a
// database: the notifier and the outbox sender, which would tell an
// organisation twice if two `vigil serve` processes ran them at once.
//
// Hold waits until its process holds the store lease of the job, runs the
// job, and renews the lease every third of its time to live. The job's
// term ends two thirds of the time to live after the last renewal that
// succeeded: then its context is cancelled, so that it stops before the
// lease could pass to another process, even when renewing hangs (a store
// that does not answer). A renewal that fails or finds the lease taken
// ends the term too. The process then waits for the lease as at the
// start, and runs the job again once it holds it: a store that was away
// for a minute costs the job a minute, not the rest of the process's life.
//
// A job about to do what cannot be undone (the end of an SMTP DATA, a post
// to a channel) calls Check first: a process held up (stopped, swapped
// out, its virtual machine paused) may wake past its term before its
// timers have run, and Check, which reads the clock, tells it so and
// cancels the job at once.
//
// A process that dies leaves its lease behind. Another process takes it
// over once it expired, or at once when the holder is provably dead: it
// ran on this machine (same kernel boot, PID namespace and host name,
// which its holder name says) and its process, known by PID and start
// time, is gone. So `vigil serve` restarted after a crash runs its jobs
// at once, and a process on another machine waits out the lease, as it
// cannot see whether the holder lives. Taking a lease from a dead holder
// is a compare-and-swap in the store: of two processes restarted at once,
// one wins.
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

// DefaultTTL is how long a lease lasts unless renewed: how long another
// process waits to take over from one that died, unless it sees that one
// is dead.
const DefaultTTL = 30 * time.Second

// Options tune Hold; zero fields take the defaults.
type Options struct {
	// Holder names this process in the lease; default Holder().
	Holder string
	// TTL is the lease's time to live (default DefaultTTL); it is renewed
	// every TTL/3.
	TTL    time.Duration
	Logger *slog.Logger
}

// Hold runs job(ctx) while this process holds the lease name, as the
// package comment says, again each time it holds it anew after its term
// ended. It returns job's error, or nil when job or ctx ended.
func Hold(ctx context.Context, st store.Leases, name string, opts Options, job func(context.Context) error) error {
	holder, ttl, log := opts.Holder, opts.TTL, opts.Logger
	if holder == "" {
		holder = Holder()
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("lease", name, "holder", holder)
	every := ttl / 3
	tick := time.NewTicker(every)
	defer tick.Stop()

	// Wait for the lease.
	waiting := false
	for {
		now := time.Now()
		// A store that hangs must not hang the wait.
		tctx, tcancel := context.WithTimeout(ctx, every)
		held, err := st.TakeLease(tctx, name, holder, now, ttl)
		tcancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Warn("lease: cannot take it; trying again", "err", err)
		case held == holder:
			if waiting {
				log.Info("lease: taken over; running the job here")
			}
			lapsed, err := run(ctx, st, name, holder, now, ttl, every, tick, log, job)
			if !lapsed {
				return err
			}
			waiting = true
		default:
			if dead, ok := deadHolder(held); ok {
				tctx, tcancel := context.WithTimeout(ctx, every)
				took, err := st.TakeLeaseFrom(tctx, name, held, holder, now, ttl)
				tcancel()
				switch {
				case ctx.Err() != nil:
					return nil
				case err != nil:
					log.Warn("lease: cannot take it over from a dead process; trying again", "dead_holder", held, "err", err)
				case took:
					log.Warn("lease: taken over at once from a dead process of this machine; running the job here",
						"dead_holder", held, "dead_pid", dead.pid)
					lapsed, err := run(ctx, st, name, holder, now, ttl, every, tick, log, job)
					if !lapsed {
						return err
					}
					waiting = true
				}
				// Else another process took it over first: wait for
				// that one as for any.
			}
			if !waiting {
				waiting = true
				log.Info("lease: another process runs the job; waiting to take over", "held_by", held)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// ErrLapsed is the cause of a job's cancellation when its term ended:
// the lease was not renewed in time, or another process holds it.
var ErrLapsed = errors.New("lease: the job's term ended (the lease was not renewed in time or passed to another process)")

// A term is a job's hold on its lease, carried by the job's context.
type term struct {
	name   string
	holder string
	base   time.Time    // a reading of the monotonic clock
	until  atomic.Int64 // the term's end, in nanoseconds after base
	cancel context.CancelCauseFunc
}

type termKey struct{}

// extend makes the term end at end.
func (t *term) extend(end time.Time) { t.until.Store(int64(end.Sub(t.base))) }

// left is how long the term has left at now; not positive once it ended.
func (t *term) left(now time.Time) time.Duration {
	return time.Duration(t.until.Load() - int64(now.Sub(t.base)))
}

func (t *term) end() { t.cancel(fmt.Errorf("%w: %s", ErrLapsed, t.name)) }

// Check returns nil while the job whose context ctx is (or derives from)
// may still act under its lease, and otherwise the reason it may not,
// after cancelling the job: its term ended (an error wrapping ErrLapsed)
// or its context ended. A context of no job under a lease is only checked
// for its own end.
func Check(ctx context.Context) error {
	if t, ok := ctx.Value(termKey{}).(*term); ok && t.left(time.Now()) <= 0 {
		t.end()
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// Held returns the name and holder of the lease the job whose context
// ctx is (or derives from) runs under, for a write that the store should
// make only while the holder still holds it (a notifier commit's
// LeaseName and LeaseHolder); ok is false for a context of no such job.
func Held(ctx context.Context) (name, holder string, ok bool) {
	t, ok := ctx.Value(termKey{}).(*term)
	if !ok {
		return "", "", false
	}
	return t.name, t.holder, true
}

// run runs job under the lease, renewing it, and releases it at the end.
// It reports whether the job's term ended (lapsed) rather than the job or
// ctx: then the caller waits for the lease again.
func run(ctx context.Context, st store.Leases, name, holder string, taken time.Time, ttl, every time.Duration,
	tick *time.Ticker, log *slog.Logger, job func(context.Context) error) (lapsed bool, err error) {
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := &term{name: name, holder: holder, base: taken, cancel: cancel}
	t.extend(taken.Add(ttl - every))
	jobCtx = context.WithValue(jobCtx, termKey{}, t)
	// The term ends by itself when no renewal extends it in time.
	timer := time.AfterFunc(ttl-every, func() {
		if t.left(time.Now()) <= 0 {
			t.end()
		}
	})
	defer timer.Stop()
	done := make(chan error, 1)
	go func() { done <- job(jobCtx) }()
	release := func() {
		// ctx may be over: the release gets a moment of its own.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := st.ReleaseLease(rctx, name, holder); err != nil {
			log.Warn("lease: cannot release it; it expires by itself", "err", err)
		}
	}
	// stop ends the job because its term ended, and waits for it.
	stop := func(args ...any) (bool, error) {
		log.Error("lease: lost; the job stops here until this process holds the lease again", args...)
		t.end()
		<-done
		release()
		return true, nil
	}
	for {
		select {
		case err := <-done:
			if ctx.Err() == nil && errors.Is(context.Cause(jobCtx), ErrLapsed) {
				// The term ended by itself (its timer, or Check).
				log.Error("lease: not renewed in time; the job stops here until this process holds the lease again")
				release()
				return true, nil
			}
			release()
			return false, err
		case <-ctx.Done():
			cancel(nil)
			<-done
			release()
			return false, nil
		case <-tick.C:
		}
		now := time.Now()
		// A renewal that hangs must not outlast the term.
		rctx, rcancel := context.WithTimeout(ctx, every)
		held, err := st.TakeLease(rctx, name, holder, now, ttl)
		rcancel()
		if ctx.Err() != nil {
			continue // handled above
		}
		if err == nil && held == holder {
			t.extend(now.Add(ttl - every))
			timer.Reset(t.left(time.Now()))
			continue
		}
		// Not renewed: keep going only while the term lasts past the next try.
		if err != nil && t.left(time.Now().Add(every)) > 0 {
			log.Warn("lease: cannot renew it; trying again", "err", err)
			continue
		}
		if err != nil {
			return stop("err", err)
		}
		return stop("held_by", held)
	}
}
