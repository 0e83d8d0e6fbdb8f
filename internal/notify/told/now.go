package told

// What a notification sent now, outside the schedule, needs of the event
// store: the ids of the chosen events and which organisations' queues
// hold them, so that its commit consumes exactly those entries.

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// EventEntry is a stored event's id (what an outbox message's events and
// a commit's Done name) and the organisations whose queue of events to
// notify holds it.
type EventEntry struct {
	ID     int64
	Queued []string
}

// EventEntries returns the entry of each of hashes that is stored; a hash
// not stored is left out.
func (s *Store) EventEntries(ctx context.Context, hashes []event.Hash) (map[event.Hash]EventEntry, error) {
	out := make(map[event.Hash]EventEntry, len(hashes))
	if len(hashes) == 0 {
		return out, nil
	}
	raw := make([][]byte, len(hashes))
	for i := range hashes {
		raw[i] = hashes[i][:]
	}
	a := s.db.Dialect().Args()
	byID := map[int64]event.Hash{}
	err := s.db.Each(ctx, `SELECT id, hash FROM events WHERE `+sqlkit.In(a, "hash", raw), a.List(), func(row sqlkit.Row) error {
		var (
			id   int64
			hash []byte
			h    event.Hash
		)
		if err := row.Scan(&id, &hash); err != nil {
			return err
		}
		copy(h[:], hash)
		out[h] = EventEntry{ID: id}
		byID[id] = h
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("told: event entries: %w", err)
	}
	if len(byID) == 0 {
		return out, nil
	}
	ids := make([]int64, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	a = s.db.Dialect().Args()
	err = s.db.Each(ctx, `SELECT org, event_id FROM notify_queue WHERE `+sqlkit.In(a, "event_id", ids), a.List(), func(row sqlkit.Row) error {
		var (
			org string
			id  int64
		)
		if err := row.Scan(&org, &id); err != nil {
			return err
		}
		h := byID[id]
		e := out[h]
		e.Queued = append(e.Queued, org)
		out[h] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("told: queue entries: %w", err)
	}
	return out, nil
}
