package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/store"
)

// EventsAfter returns the events stored after Seq after, in the order
// they were stored, up to the highest id committed when no insert was in
// progress. PostgreSQL hands out ids when a row is inserted, not when its
// transaction commits: a batch holding ids 100 to 199 can commit after
// one holding 200 to 299, and a follower that had read up to 299 would
// never read the first batch. So, when there are new ids at all, a
// short transaction takes the events table in SHARE mode, which waits
// for the inserts in progress to commit (or roll back) and holds new
// ones back for as long as it reads the highest id: every id up to it is
// then committed or never will be.
func (s *Store) EventsAfter(ctx context.Context, after int64, limit int) ([]store.StoredEvent, error) {
	var highest int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&highest); err != nil {
		return nil, fmt.Errorf("pgstore: events after %d: %w", after, err)
	}
	if highest <= after {
		return nil, nil
	}
	horizon, err := s.committedHorizon(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: events after %d: %w", after, err)
	}
	found, err := storedEvents(ctx, s.pool, `SELECT `+storedCols("")+` FROM events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3`,
		after, horizon, store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("pgstore: events after %d: %w", after, err)
	}
	list := make([]store.StoredEvent, len(found))
	for i, se := range found {
		list[i] = se.StoredEvent
	}
	return list, nil
}

// committedHorizon returns the highest event id once no insert is in
// progress (see EventsAfter).
func (s *Store) committedHorizon(ctx context.Context) (int64, error) {
	// The lock waits for the inserts in progress, and inserts wait behind
	// it: it is given up after a second (the follower tries again on its
	// next pass) rather than queue ingestion behind, say, a VACUUM.
	var horizon int64
	err := inTxWith(ctx, s.pool, "lock_timeout", "1s", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE ONLY events IN SHARE MODE`); err != nil {
			return fmt.Errorf("wait for the events being inserted: %w", err)
		}
		return tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&horizon)
	})
	return horizon, err
}
