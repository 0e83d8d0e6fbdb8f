package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// EventsAfter returns the events stored after Seq after, in the order
// they were stored. SQLite has one writer, so ids are given in the order
// their transactions commit: a reader never sees an id above one that
// a later commit fills in.
func (s *Store) EventsAfter(ctx context.Context, after int64, limit int) ([]store.StoredEvent, error) {
	if s.parts != nil {
		list, err := s.parts.eventsAfter(ctx, after, store.PageLimit(limit))
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: events after %d: %w", after, err)
		}
		return list, nil
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, hash, stored, data FROM events WHERE id > ? ORDER BY id LIMIT ?`,
		after, store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: events after %d: %w", after, err)
	}
	defer rows.Close()
	var list []store.StoredEvent
	for rows.Next() {
		var (
			se     store.StoredEvent
			hash   []byte
			stored int64
			data   []byte
		)
		if err := rows.Scan(&se.Seq, &hash, &stored, &data); err != nil {
			return nil, fmt.Errorf("sqlitestore: events after %d: %w", after, err)
		}
		copy(se.Hash[:], hash)
		se.Stored = time.UnixMicro(stored).UTC()
		if se.Event, err = event.DecodeRecord(data); err != nil {
			return nil, fmt.Errorf("sqlitestore: event %d: %w", se.Seq, err)
		}
		list = append(list, se)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: events after %d: %w", after, err)
	}
	return list, nil
}
