package bus

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Emptying a stream of limits retention: the worker process purges what
// the consumer acknowledged (purger).

// purgeInterval is how often the purger looks whether the workers went
// idle with acknowledged batches left in the stream.
const purgeInterval = 2 * time.Second

// askPurge wakes the purger, if it is not awake already.
func (b *Bus) askPurge() {
	select {
	case b.purgeNow <- struct{}{}:
	default:
	}
}

// ackedBatches are the batches the workers of this process acknowledged
// above the floor last purged to: their stream sequences and sizes.
type ackedBatches struct {
	mu      sync.Mutex
	batches []ackedBatch
	// bytes is the size of batches.
	bytes int64
	// since is the bytes acknowledged since the last purge was asked.
	since int64
	// count is how many batches were acknowledged, ever.
	count uint64
}

// acknowledged is how many batches were acknowledged, ever.
func (a *ackedBatches) acknowledged() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.count
}

type ackedBatch struct {
	seq  uint64
	size int64
}

// add records an acknowledged batch; it reports whether every bytes
// were acknowledged since the last purge was asked.
func (a *ackedBatches) add(seq uint64, size int, every int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.batches = append(a.batches, ackedBatch{seq, int64(size)})
	a.bytes += int64(size)
	a.since += int64(size)
	a.count++
	if a.since < every {
		return false
	}
	a.since = 0
	return true
}

// purged forgets the batches at or below floor (purged); it returns the
// sequences of those above it, and forgets them too, when they hold more
// than keep bytes.
func (a *ackedBatches) purged(floor uint64, keep int64) []uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	above := a.batches[:0]
	for _, ab := range a.batches {
		if ab.seq > floor {
			above = append(above, ab)
		} else {
			a.bytes -= ab.size
		}
	}
	a.batches = above
	if a.bytes <= keep {
		return nil
	}
	seqs := make([]uint64, len(above))
	for i, ab := range above {
		seqs[i] = ab.seq
	}
	a.batches, a.bytes = above[:0], 0
	return seqs
}

// purger purges the stream up to the consumer's acknowledged floor
// whenever purgeBytes were acknowledged (askPurge), and once the workers
// acknowledged nothing for purgeInterval (idleRule). A batch that no
// worker acknowledges for long (one of a codec only a newer version
// reads, left for it) holds the floor, and the acknowledged batches
// behind it would fill the stream: once this process's acknowledged
// batches above the floor hold more than twice purgeBytes, they are
// removed one by one, as a work-queue stream does.
func (b *Bus) purger(ctx context.Context, stream jetstream.Stream, cons jetstream.Consumer, acked *ackedBatches) {
	ticks := b.purgeTicks
	if ticks == nil {
		tick := time.NewTicker(purgeInterval)
		defer tick.Stop()
		ticks = tick.C
	}
	var floor uint64
	var idle idleRule
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			due := idle.tick(acked.acknowledged())
			if due {
				floor = b.purge(ctx, stream, cons, acked, floor, &idle)
			}
			if b.purgeTicked != nil {
				b.purgeTicked(due)
			}
		case <-b.purgeNow:
			floor = b.purge(ctx, stream, cons, acked, floor, &idle)
		}
	}
}

// idleRule says on which of the purger's ticks it purges: a tick purges
// what was left once the workers are idle (nothing acknowledged for a
// whole interval), and only when something was acknowledged since the
// last purge; while they work, purgeBytes ask for a purge. A purge each
// tick on a loaded machine (few batches a tick) read the block its floor
// is in, and rewrote its head, every time: 0.5–0.6 s of CPU a million
// events at load 30, as much as the removals it replaced
// (docs/PERFORMANCE.md, issue 14, sixteenth session).
type idleRule struct {
	// seen is the count of acknowledged batches at the last tick,
	// purged at the last purge.
	seen, purged uint64
}

// tick reports whether a tick should purge, acknowledged being the
// count of batches the workers acknowledged so far.
func (r *idleRule) tick(acknowledged uint64) bool {
	idle := acknowledged == r.seen
	r.seen = acknowledged
	return idle && acknowledged != r.purged
}

// purging notes a purge made when acknowledged batches had been
// acknowledged so far (on a tick, or asked for by purgeBytes).
func (r *idleRule) purging(acknowledged uint64) { r.purged = acknowledged }

// purge purges the stream up to the consumer's acknowledged floor, if it
// rose above floor, and removes one by one what acked holds too much of
// above it; it returns the floor purged to.
func (b *Bus) purge(ctx context.Context, stream jetstream.Stream, cons jetstream.Consumer, acked *ackedBatches, floor uint64, idle *idleRule) uint64 {
	idle.purging(acked.acknowledged())
	info, err := cons.Info(ctx)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("bus: consumer info", "err", err)
		}
		return floor
	}
	if f := info.AckFloor.Stream; f > floor {
		// WithPurgeSequence purges every message below it.
		if err := stream.Purge(ctx, jetstream.WithPurgeSequence(f+1)); err != nil {
			if ctx.Err() == nil {
				b.log.Warn("bus: purge", "err", err)
			}
			return floor
		}
		floor = f
	}
	for _, seq := range acked.purged(floor, 2*b.purgeBytes) {
		if err := stream.DeleteMsg(ctx, seq); err != nil && ctx.Err() == nil {
			b.log.Debug("bus: remove acknowledged batch", "seq", seq, "err", err)
		}
	}
	return floor
}
