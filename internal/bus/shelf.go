package bus

import (
	"sync"
	"time"
)

// A shelf keeps a few large buffers of batches gone for the batches to
// come. sync.Pool, which held them before, lets its buffers go at every
// other collection (several times a second in a pipeline), and a new
// buffer's memory, given back to the system in between (the process
// runs near its soft memory limit), faults on its first write, every 4
// KiB page at about 6 µs here (docs/PERFORMANCE.md, issue 14,
// fourteenth session): writing the buffers batches are encoded and
// compressed into took 35,000 of the 354,000 page faults of bench ingest
// through JetStream a million events (seventeenth session). A shelf
// holds at most limit buffers, and none once it has not been used for
// shelfIdle: a process that stopped publishing does not keep them.
type shelf struct {
	mu    sync.Mutex
	bufs  [][]byte
	limit int
	// used is whether the shelf was used since its timer was set.
	used  bool
	timer *time.Timer
}

// Buffers smaller than minShelved are not kept (the batches of a small
// feed, whose memory is little), nor larger than maxShelved (one huge
// batch would otherwise hold its memory until the shelf is idle).
const (
	minShelved = 64 << 10
	maxShelved = 16 << 20
)

// shelfIdle is how long a shelf keeps its buffers unused.
const shelfIdle = 5 * time.Second

// take returns the smallest buffer of the shelf with room for n bytes,
// empty, or nil when it has none.
func (s *shelf) take(n int) []byte {
	if n < minShelved {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used = true
	best := -1
	for i, b := range s.bufs {
		if cap(b) >= n && (best < 0 || cap(b) < cap(s.bufs[best])) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	b := s.bufs[best]
	last := len(s.bufs) - 1
	s.bufs[best], s.bufs[last] = s.bufs[last], nil
	s.bufs = s.bufs[:last]
	return b[:0]
}

// put keeps b on the shelf for a later take, if there is room; b must
// not be used any more.
func (s *shelf) put(b []byte) {
	if cap(b) < minShelved || cap(b) > maxShelved {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used = true
	if len(s.bufs) >= s.limit {
		return
	}
	s.bufs = append(s.bufs, b[:0])
	if s.timer == nil {
		s.timer = time.AfterFunc(shelfIdle, s.idle)
	}
}

// idle empties the shelf if it was not used since the timer was set,
// else sets the timer again.
func (s *shelf) idle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used {
		s.used = false
		s.timer.Reset(shelfIdle)
		return
	}
	clear(s.bufs)
	s.bufs = s.bufs[:0]
	s.timer = nil
}

// len is how many buffers the shelf holds.
func (s *shelf) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bufs)
}
