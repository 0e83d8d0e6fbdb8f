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
// when it returns true the caller must call done afterwards. While a run is
// busy the schedule stays as it was, so the next call after it finished
// starts the overdue run.
func (p *periodic) start(now time.Time) bool {
	if p == nil || p.every <= 0 || now.UnixNano() < p.next.Load() {
		return false
	}
	if !p.busy.CompareAndSwap(false, true) {
		return false
	}
	p.next.Store(now.Add(p.every).UnixNano())
	return true
}

func (p *periodic) done() { p.busy.Store(false) }
