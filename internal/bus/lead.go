package bus

import (
	"context"
	"sync"
	"time"
)

// A publisher in the process whose workers consume the stream (bench
// ingest, serve in one process) splits an input far faster than the
// workers parse and store it: unbounded, it put a million events' chunks
// in the stream within seconds, and the embedded server, whose block
// (8 MiB) was long written and its buffer let go by the time a worker
// asked for its messages, read them back from its files
// (msgBlock.loadBlock), into buffers of a block's size each time. Asking
// the consumer how far behind it is, before each chunk, bounded that but
// cost more than it saved (docs/PERFORMANCE.md, issue 14, nineteenth
// session). When the embedded server does not listen, the workers of this
// process are the only ones: what they acknowledged is how far the
// consumer is, for nothing, and the publisher keeps at most maxLead
// messages ahead of it (leadBound).

// maxLead is how many messages a publisher keeps ahead of the workers'
// acknowledgements: enough for every worker to have its next messages
// at hand (each pulls 2 at a time), few enough (16 chunks are about 10
// MB once compressed) for the server to hand them out of the block it is
// writing.
const maxLead = 16

// leadPatience is how long a publisher waits for an acknowledgement when
// it is maxLead messages ahead: workers that acknowledge nothing for that
// long (a store that refuses their batches, which come back later) do not
// hold the input up; the publisher goes on, another maxLead messages, as
// it did without the bound, and the stream holds what they left.
const leadPatience = 5 * time.Second

// leadBound counts the messages this process published and its workers
// are done with (acknowledged, or dropped as undecodable), and holds a
// publisher back while it is maxLead ahead and workers consume.
type leadBound struct {
	mu        sync.Mutex
	published int64
	done      int64
	// consumers is how many Consume calls run; with none, nothing bounds
	// the publisher (a process whose workers have not started, or have
	// stopped).
	consumers int
	// changed is closed, and made again, when a worker is done with a
	// message or Consume stops.
	changed chan struct{}
	// patience is leadPatience; waiting, when set, is called as a
	// publisher begins to wait (tests).
	patience time.Duration
	waiting  func()
}

func newLeadBound() *leadBound {
	return &leadBound{changed: make(chan struct{}), patience: leadPatience}
}

// publishing waits while the publisher is maxLead messages ahead, then
// counts one more message. It waits at most leadPatience for the workers,
// and never when l is nil (workers of other processes share the stream).
func (l *leadBound) publishing(ctx context.Context) error {
	if l == nil {
		return nil
	}
	var patience *time.Timer
	for {
		l.mu.Lock()
		if l.consumers == 0 || l.published-l.done < maxLead {
			l.published++
			l.mu.Unlock()
			if patience != nil {
				patience.Stop()
			}
			return nil
		}
		changed, waiting := l.changed, l.waiting
		l.mu.Unlock()
		if patience == nil {
			patience = time.NewTimer(l.patience)
			if waiting != nil {
				waiting()
			}
		}
		select {
		case <-changed:
		case <-patience.C:
			// The workers are stuck: another maxLead messages go.
			l.mu.Lock()
			l.done = l.published
			l.published++
			l.mu.Unlock()
			return nil
		case <-ctx.Done():
			patience.Stop()
			return ctx.Err()
		}
	}
}

// unpublished takes back a message counted by publishing that did not go
// to the stream.
func (l *leadBound) unpublished() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.published--
	l.mu.Unlock()
}

// finished notes that a worker is done with a message: acknowledged, or
// dropped.
func (l *leadBound) finished() {
	if l == nil {
		return
	}
	l.mu.Lock()
	// A message of an earlier process's (one left in the stream) gives
	// the publisher no room beyond maxLead.
	if l.done < l.published {
		l.done++
	}
	l.tell()
	l.mu.Unlock()
}

// consuming notes that a Consume call started (+1) or stopped (-1).
func (l *leadBound) consuming(delta int) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.consumers += delta
	l.tell()
	l.mu.Unlock()
}

// tell wakes the publishers waiting; l.mu is held.
func (l *leadBound) tell() {
	close(l.changed)
	l.changed = make(chan struct{})
}
