package notify

// Reading an organisation's queue: from the store page by page, or from
// what the pass read of the whole queue at once.

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// eachPending calls fn for every pending notification of o after seq: from
// what the pass read for it, or else from the store.
func (p *pass) eachPending(ctx context.Context, o *orgWork, after int64, fn func(store.PendingNotification)) error {
	if o.bulk {
		for _, q := range o.queued {
			if q.Seq <= after {
				continue
			}
			pn := store.PendingNotification{Seq: q.Seq, Org: o.org, Hash: q.Hash, Stored: q.Stored}
			if q.Record != nil {
				e, err := event.DecodeRecord(q.Record)
				if err != nil {
					return fmt.Errorf("pending notifications of %s: event %s: %w", o.org, q.Hash, err)
				}
				store.WithoutWithheld(e)
				pn.Event = e
			}
			fn(pn)
		}
		o.queued = nil
		return nil
	}
	for {
		page, err := p.n.store.ListPendingNotifications(ctx, o.org, after, pendingPage)
		if err != nil {
			return fmt.Errorf("pending notifications of %s: %w", o.org, err)
		}
		for _, pn := range page {
			fn(pn)
			after = pn.Seq
		}
		if len(page) < pendingPage {
			return nil
		}
	}
}

// readAtOnceMax bounds how many pending events a pass reads at once: the
// queue read at once is held in memory until each organisation's turn,
// about 1.4 KB an event at peak. A larger queue is read organisation by
// organisation, slower but in bounded memory. (A variable for tests.)
var readAtOnceMax int64 = 2_000_000

// dense reports whether the pending events are at least a quarter of the
// events stored between the first and the last of them, and at most
// readAtOnceMax: then one scan of that stretch (readQueue) is cheaper
// than looking each up.
func dense(pending []store.PendingCount) bool {
	var total, first, last int64
	for i, c := range pending {
		total += c.Count
		if i == 0 || c.First < first {
			first = c.First
		}
		last = max(last, c.Last)
	}
	return total > 0 && total <= readAtOnceMax && total*4 >= last-first+1
}

// readQueue reads the whole queue at once, by organisation in the order of
// pending.
func (n *Notifier) readQueue(ctx context.Context, pending []store.PendingCount) ([][]store.PendingRecord, error) {
	index := make(map[string]int, len(pending))
	out := make([][]store.PendingRecord, len(pending))
	for i, c := range pending {
		index[c.Org] = i
		out[i] = make([]store.PendingRecord, 0, c.Count)
	}
	err := n.store.ScanPendingNotifications(ctx, func(r store.PendingRecord) error {
		for _, org := range r.Orgs {
			// An organisation queued since PendingNotificationOrgs is
			// left for the next pass.
			if i, ok := index[org]; ok {
				out[i] = append(out[i], store.PendingRecord{Seq: r.Seq, Hash: r.Hash, Stored: r.Stored, Record: r.Record})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notify: read the queue: %w", err)
	}
	return out, nil
}
