package sqlitestore

// The duplicate check's set of the sealed partitions' hashes
// (docs/EVENTSTORE.md, "The duplicate check"). Every insert asks whether
// each of its events' hashes is stored. A sealed partition answers from
// its own Bloom filter of hashes, but asking each of them costs two cache
// misses a partition an event: at 220 partitions, two thirds of a load's
// CPU. One set over the h8 of every covered sealed partition answers
// instead, in a few cache lines whatever the number of partitions; only a
// hash it admits (a duplicate, or a false positive) asks the covered
// partitions its tags name (hashset.New), through their runs of
// hashes: a covered partition's own filter is never asked, so its pages
// are never resident (they were 0.9 MB a partition once touched).

import (
	"cmp"
	"context"
	"time"

	"github.com/vigil-cert/vigil/internal/store/hashset"
)

// hashSet is the set (package hashset); the name stays the store's, which
// its fields and lookups use.
type hashSet = hashset.Set

// startCovering makes the set and starts covering the sealed partitions
// it does not hold, once: at the first lookup of a writer, not at open, so
// that a process that only searches pays neither.
func (ps *parts) startCovering() {
	ps.coverStart.Do(func() {
		ps.mu.RLock()
		var sealed int64
		for _, p := range ps.list {
			if p.sealed {
				sealed += p.sum.count
			}
		}
		ps.mu.RUnlock()
		ps.hashSet.Store(hashset.New(sealed))
		go ps.coverLoop(ps.coverCtx)
	})
}

// coverSealing adds the hashes of a partition being sealed, keys, to
// set, the duplicate check's set as the sealing read the partition's rows
// (nil when not made yet); it reports whether it did, which the sealing
// records as partition.covered once it commits. The sealing calls it once
// every statement has succeeded, so that a failed seal, retried, does not
// add them again (and count them again toward a layer's capacity); should
// the commit itself fail, they only cost false positives.
func coverSealing(set *hashSet, keys []uint64, part int64) bool {
	if set == nil {
		return false
	}
	set.Add(keys, part)
	return true
}

// sealedCovered records, as p's sealing commits (the caller holds mu),
// whether coverSealing added its hashes; if not, the covering loop, which
// may have started meanwhile, is woken to cover it.
func (ps *parts) sealedCovered(p *partition, covered bool) {
	p.covered = covered
	if !covered && ps.hashSet.Load() != nil {
		ps.wakeCovering()
	}
}

// wakeCovering tells the covering loop a sealed partition it may not
// cover appeared (another store sealed it).
func (ps *parts) wakeCovering() {
	select {
	case ps.coverWake <- struct{}{}:
	default:
	}
}

// coverLoop covers the sealed partitions the set does not hold (those
// there were when the set was made, those another store sealed), one at a
// time, until close: it reads each one's h8 column and adds them. A
// partition that cannot be read stays uncovered, asked through its own
// filter as before, until the loop reads it again: when it is woken, or
// after a wait that doubles from coverRetryFirst to coverRetryMax while
// reads fail.
func (ps *parts) coverLoop(ctx context.Context) {
	defer close(ps.coverDone)
	set := ps.hashSet.Load()
	failed := map[*partition]bool{}
	first := cmp.Or(ps.coverRetry, coverRetryFirst)
	wait := first
	for {
		var next *partition
		ps.mu.RLock()
		for _, p := range ps.list {
			if p.sealed && !p.covered && !failed[p] {
				next = p
				break
			}
		}
		ps.mu.RUnlock()
		if next == nil {
			var (
				timer *time.Timer
				retry <-chan time.Time // none while no read failed
			)
			if len(failed) > 0 {
				timer = time.NewTimer(wait)
				retry = timer.C
			} else {
				wait = first
			}
			select {
			case <-ctx.Done():
				return
			case <-ps.coverWake:
			case <-retry:
				wait = min(2*wait, coverRetryMax)
			}
			if timer != nil {
				timer.Stop()
			}
			clear(failed) // read again: the cause may have passed
			continue
		}
		if ps.coverHook != nil {
			ps.coverHook(next)
		}
		err := ps.cover(ctx, set, next)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failed[next] = true
			ps.s.log.Warn("event partition's hashes not in the duplicate check's set; its own filter answers until read again", "partition", next.n, "err", err)
		}
	}
}

// coverRetryFirst and coverRetryMax bound the covering loop's wait before
// it reads again the partitions it failed to read.
const (
	coverRetryFirst = time.Minute
	coverRetryMax   = time.Hour
)

// coverChunk is how many keys the loop reads before it adds them.
const coverChunk = 8192

// cover adds sealed partition p's hashes to set and marks it covered.
func (ps *parts) cover(ctx context.Context, set *hashSet, p *partition) error {
	err := ps.sealedHashes(ctx, p, func(keys []uint64) { set.Add(keys, p.n) })
	if err != nil {
		return err
	}
	ps.mu.Lock()
	p.covered = true
	ps.mu.Unlock()
	return nil
}

// stopCovering stops the covering loop and waits for it.
func (ps *parts) stopCovering() {
	ps.stopCover()
	ps.coverStart.Do(func() { close(ps.coverDone) }) // never started
	<-ps.coverDone
}
