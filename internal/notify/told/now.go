package told

// What a notification sent now, outside the schedule, needs of the event
// store: the ids of the chosen events and which organisations' queues
// hold them, so that its commit consumes exactly those entries. Both are
// the event store's to answer (store.EventLookup, queuesql.Queued): told
// reads none of its tables itself, whatever layout it keeps events in.

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/queuesql"
)

// EventEntry is a stored event's id (what an outbox message's events and
// a commit's Done name) and the organisations whose queue of events to
// notify holds it.
type EventEntry struct {
	ID     int64
	Queued []string
}

// EventEntries returns the entry of each of hashes that is stored; a hash
// not stored is left out. It reads outside the transaction of the commit
// that consumes the entries (see queuesql.Queued for why that is right).
func (s *Store) EventEntries(ctx context.Context, hashes []event.Hash) (map[event.Hash]EventEntry, error) {
	out := make(map[event.Hash]EventEntry, len(hashes))
	if len(hashes) == 0 {
		return out, nil
	}
	ids, err := s.events.EventIDs(ctx, hashes)
	if err != nil {
		return nil, fmt.Errorf("told: event entries: %w", err)
	}
	if len(ids) == 0 {
		return out, nil
	}
	list := make([]int64, 0, len(ids))
	for h, id := range ids {
		out[h] = EventEntry{ID: id}
		list = append(list, id)
	}
	queued, err := queuesql.Queued(ctx, s.db, list)
	if err != nil {
		return nil, fmt.Errorf("told: %w", err)
	}
	for h, e := range out {
		e.Queued = queued[e.ID]
		out[h] = e
	}
	return out, nil
}
