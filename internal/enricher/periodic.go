package enricher

import (
	"sync/atomic"
	"time"
)

// periodic decides when housekeeping (pruning, reloading a file) is due
// without a background goroutine: enrichers have no Stop in their life
// cycle, so a ticker would leak. The hot path pays one atomic load; the
// caller that wins the compare-and-swap does the work (usually in a new
// goroutine that ends with the work).
type periodic struct {
	every time.Duration
	next  atomic.Int64 // Unix nanoseconds
	busy  atomic.Bool
}

func newPeriodic(every time.Duration, now time.Time) *periodic {
	p := &periodic{every: every}
	p.next.Store(now.Add(every).UnixNano())
	return p
}

// start reports whether the work is due and no earlier run is still busy;
// when it returns true the caller must call done afterwards.
func (p *periodic) start(now time.Time) bool {
	if p == nil || p.every <= 0 {
		return false
	}
	next := p.next.Load()
	if now.UnixNano() < next {
		return false
	}
	if !p.next.CompareAndSwap(next, now.Add(p.every).UnixNano()) {
		return false
	}
	return p.busy.CompareAndSwap(false, true)
}

func (p *periodic) done() { p.busy.Store(false) }
