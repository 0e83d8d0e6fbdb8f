// Package eventsql holds the event store's queries that read the same on
// both databases, written once on sqlkit.DB. The searches themselves stay
// with each store: their plans are different strategies.
package eventsql

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// ByID reads the events of ids in one statement and returns them in the
// order of ids; an id no event has is left out.
func ByID(ctx context.Context, db sqlkit.DB, ids []int64) ([]store.StoredEvent, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	a := db.Dialect().Args()
	byID := make(map[int64]store.StoredEvent, len(ids))
	err := db.Each(ctx, `SELECT id, hash, stored, data FROM events WHERE `+sqlkit.In(a, "id", ids), a.List(), func(row sqlkit.Row) error {
		var (
			id         int64
			stored     time.Time
			hash, data []byte
		)
		if err := row.Scan(&id, &hash, sqlkit.Time(&stored), &data); err != nil {
			return err
		}
		e, err := event.DecodeRecord(data)
		if err != nil {
			return fmt.Errorf("event %d: %w", id, err)
		}
		se := store.StoredEvent{Stored: stored, Event: e}
		copy(se.Hash[:], hash)
		byID[id] = se
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.StoredEvent, 0, len(ids))
	for _, id := range ids {
		if se, ok := byID[id]; ok {
			out = append(out, se)
		}
	}
	return out, nil
}
