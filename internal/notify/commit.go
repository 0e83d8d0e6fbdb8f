package notify

// The committer: the prepared work of the organisations, stored in
// batches while the workers prepare the next.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/outbox"
)

// commitAll counts the prepared work of results into rep and commits it
// in batches of commitOrgs organisations or commitBytes of messages. A
// failing commit cancels the workers (cancel) and is returned; the
// batches after it are not committed.
func (n *Notifier) commitAll(ctx context.Context, cancel context.CancelFunc, results <-chan *orgWork, rep *Report) error {
	// Batches are committed by one goroutine while the workers prepare the
	// next: the store's single writer and the CPU work overlap. At most
	// one batch waits, which bounds the memory held.
	var (
		repMu     sync.Mutex // guards rep from here on
		commitErr error
		batches   = make(chan []*orgWork, 1)
		committed = make(chan struct{})
	)
	go func() {
		defer close(committed)
		for batch := range batches {
			if commitErr != nil {
				continue
			}
			if err := n.commit(ctx, batch, rep, &repMu); err != nil {
				commitErr = err
				cancel()
			}
		}
	}()
	var batch []*orgWork
	batchBytes := 0
	for o := range results {
		repMu.Lock()
		rep.Organisations++
		if o.err != nil {
			if !errors.Is(o.err, context.Canceled) {
				n.log.Error("notify: organisation skipped this pass", "org", o.org, "err", o.err)
			}
			rep.Errors = append(rep.Errors, OrgError{Org: o.org, Err: o.err})
			repMu.Unlock()
			continue
		}
		if o.empty() {
			// Nothing consumed: the queue up to its mark only waits.
			rep.add(o)
			o.applyMark(n)
			repMu.Unlock()
			continue
		}
		repMu.Unlock()
		batch = append(batch, o)
		batchBytes += o.bytes
		if len(batch) >= commitOrgs || batchBytes >= commitBytes {
			batches <- batch
			batch, batchBytes = nil, 0
		}
	}
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	<-committed
	return commitErr
}

// commit stores the work of a batch of organisations, with the times of
// their digests, in one transaction, then wakes the sender.
func (n *Notifier) commit(ctx context.Context, batch []*orgWork, rep *Report, repMu *sync.Mutex) error {
	started := time.Now()
	defer func() {
		repMu.Lock()
		rep.Committing += time.Since(started)
		repMu.Unlock()
	}()
	c := NotificationCommit{Done: make(map[string][]int64, len(batch))}
	var messages, sets int
	for _, o := range batch {
		messages += len(o.messages)
		if len(o.told) > 0 {
			sets++
		}
	}
	// The keys told are handed over in the organisations' own lists, not
	// copied into one (a morning's batch tells some 25,000).
	c.Messages, c.ToldSets = make([]outbox.Message, 0, messages), make([]NotifiedKeySet, 0, sets)
	for _, o := range batch {
		c.Messages = append(c.Messages, o.messages...)
		if len(o.told) > 0 {
			c.ToldSets = append(c.ToldSets, NotifiedKeySet{Org: o.org, Keys: o.told, FirstSent: o.now, Expires: o.toldExpires})
		}
		if o.tallyChanged {
			if c.Repeats == nil {
				c.Repeats = make(map[string][]NotifiedKey)
			}
			c.Repeats[o.org] = o.tally
		}
		if len(o.done) > 0 {
			c.Done[o.org] = o.done
		}
		if o.digestSent {
			// In the same transaction as the digest, so that a crash
			// cannot leave a digest queued without its time.
			if c.State == nil {
				c.State = make(map[string][]byte)
			}
			c.State[lastDigestKey(o.org)] = []byte(o.now.UTC().Format(time.RFC3339Nano))
		}
	}
	// Not past the lease's term: another process may notify by now; and
	// the store commits only while this process holds the lease.
	if err := lease.Check(ctx); err != nil {
		return fmt.Errorf("notify: commit %d organisations: %w", len(batch), err)
	}
	c.LeaseName, c.LeaseHolder, _ = lease.Held(ctx)
	if err := n.store.CommitNotifications(ctx, &c); err != nil {
		return fmt.Errorf("notify: commit %d organisations: %w", len(batch), err)
	}
	repMu.Lock()
	for _, o := range batch {
		rep.add(o)
		o.applyMark(n)
	}
	repMu.Unlock()
	for _, o := range batch {
		o.releasePacked()
	}
	if n.kick != nil && len(c.Messages) > 0 {
		n.kick()
	}
	return nil
}
