// Package lease runs a job in only one of several processes that share a
// database: the notifier and the outbox sender, which would tell an
// organisation twice if two `vigil serve` processes ran them at once.
//
// Hold waits until its process holds the store lease of the job, runs the
// job, and renews the lease every third of its time to live. When the
// lease cannot be renewed in time (another process took it, or the store
// failed for too long), the job is stopped before the lease could pass to
// another process, and is not started again: the process goes on without
// it, and says so in its log.
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
	"log/slog"
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
// package comment says. It returns job's error, nil when ctx ends, and
// nil after stopping the job because the lease was lost.
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
		held, err := st.TakeLease(ctx, name, holder, now, ttl)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Warn("lease: cannot take it; trying again", "err", err)
		case held == holder:
			if waiting {
				log.Info("lease: taken over; running the job here")
			}
			return run(ctx, st, name, holder, ttl, every, tick, log, job)
		default:
			if dead, ok := deadHolder(held); ok {
				took, err := st.TakeLeaseFrom(ctx, name, held, holder, now, ttl)
				switch {
				case ctx.Err() != nil:
					return nil
				case err != nil:
					log.Warn("lease: cannot take it over from a dead process; trying again", "dead_holder", held, "err", err)
				case took:
					log.Warn("lease: taken over at once from a dead process of this machine; running the job here",
						"dead_holder", held, "dead_pid", dead.pid)
					return run(ctx, st, name, holder, ttl, every, tick, log, job)
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

// run runs job under the lease, renewing it, and releases it at the end.
func run(ctx context.Context, st store.Leases, name, holder string, ttl, every time.Duration, tick *time.Ticker,
	log *slog.Logger, job func(context.Context) error) error {
	jobCtx, cancel := context.WithCancel(ctx)
	defer cancel()
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
	renewed := time.Now()
	for {
		select {
		case err := <-done:
			release()
			return err
		case <-ctx.Done():
			cancel()
			<-done
			release()
			return nil
		case <-tick.C:
		}
		now := time.Now()
		held, err := st.TakeLease(ctx, name, holder, now, ttl)
		if ctx.Err() != nil {
			continue // handled above
		}
		if err == nil && held == holder {
			renewed = now
			continue
		}
		// Not renewed: keep going only while the lease surely still holds
		// at the next try.
		if err != nil && now.Add(every).Sub(renewed) < ttl-every {
			log.Warn("lease: cannot renew it; trying again", "err", err)
			continue
		}
		if err != nil {
			log.Error("lease: lost; the job stops in this process (restart it to run the job here again)", "err", err)
		} else {
			log.Error("lease: lost; the job stops in this process (restart it to run the job here again)", "held_by", held)
		}
		cancel()
		<-done
		return nil
	}
}
