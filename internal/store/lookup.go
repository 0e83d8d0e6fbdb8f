package store

import (
	"context"

	"github.com/vigil-cert/vigil/internal/event"
)

// EventLookup is what code outside the event stores reads of stored
// events by their hash: the notifier's notification sent now (the ids its
// commit consumes), the outbox's messages of an event, and the store's
// own confirmation of dedup keys (dedupsql). They read it here, and never
// the stores' tables, so that a store may keep its events in any layout
// (the table events today; partitions of compressed blocks next): what
// stays common to every layout is that an event has a hash and an id, a
// global sequence increasing in the order events were stored
// (StoredEvent.Seq, what outbox messages and notifier commits name).
//
// It reads committed events, outside any transaction of the caller: an
// event once stored keeps its id, so an answer read just before the
// caller's own transaction is still right inside it (an event removed in
// between, by retention, is one a commit names to no effect).
type EventLookup interface {
	// EventIDs returns the id of each of hashes that is stored; a hash
	// not stored is left out, one given twice is answered once. It takes
	// any number of hashes.
	EventIDs(ctx context.Context, hashes []event.Hash) (map[event.Hash]int64, error)
	// GetEvent returns the event stored under hash (as Events.GetEvent);
	// ErrNotFound when none is.
	GetEvent(ctx context.Context, hash event.Hash) (StoredEvent, error)
}
