// Package dedupsql keeps the deduplication keys the ingest pipeline
// reloads at start and prunes as they expire, written once on sqlkit.DB
// for both stores. Writing the keys stays in each store's InsertEvents:
// they go in the transaction of the batch of events, and the two stores
// write them differently (SQLite one prepared row at a time on its single
// writer, PostgreSQL one statement over unnest of two arrays, merging a
// key claimed twice because ON CONFLICT may not touch a row twice). Errors
// name the operation; the store prefixes its name.
package dedupsql

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// Load calls fn for every key that expires after now.
func Load(ctx context.Context, db sqlkit.DB, now time.Time, fn func(store.DedupKey)) error {
	var (
		key     []byte
		expires time.Time
	)
	err := db.Each(ctx, `SELECT key, expires FROM dedup_keys WHERE expires > ?`, []any{db.Dialect().Time(now)}, func(row sqlkit.Row) error {
		if err := row.Scan(&key, sqlkit.Time(&expires)); err != nil {
			return err
		}
		var k store.DedupKey
		copy(k.Key[:], key)
		k.Expires = expires
		fn(k)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load dedup keys: %w", err)
	}
	return nil
}

// Prune removes keys expired before now. In PostgreSQL it locks the rows
// in the order of their keys, as a batch's insert of its keys does
// (pgstore sorts them): a prune running beside inserts that claim some of
// the same keys again would otherwise deadlock with them. SQLite has one
// writer and no row locks.
func Prune(ctx context.Context, db sqlkit.DB, now time.Time) error {
	query := `DELETE FROM dedup_keys WHERE expires < ?`
	if db.Dialect() == sqlkit.Postgres {
		query = `DELETE FROM dedup_keys WHERE key IN (SELECT key FROM dedup_keys WHERE expires < ? ORDER BY key FOR UPDATE)`
	}
	if _, err := db.Exec(ctx, query, db.Dialect().Time(now)); err != nil {
		return fmt.Errorf("prune dedup keys: %w", err)
	}
	return nil
}

// Exist reports, for each of keys, whether a dedup key stored under it
// expires after now or an event is stored under that hash (see
// store.Dedup.DedupKeysExist). The dedup keys are read from their table
// by its unique index, one query a chunk of keys; the events' hashes are
// looked up through events (the store itself), whatever layout it keeps
// its events in.
func Exist(ctx context.Context, db sqlkit.DB, events store.EventLookup, keys []event.Hash, now time.Time) ([]bool, error) {
	found := make([]bool, len(keys))
	index := make(map[event.Hash][]int, len(keys))
	for i, k := range keys {
		index[k] = append(index[k], i)
	}
	var key []byte
	for chunk := range slices.Chunk(keys, sqlkit.ParametersPerStatement) {
		list := make([][]byte, len(chunk))
		for i := range chunk {
			list[i] = chunk[i][:]
		}
		a := db.Dialect().Args()
		query := `SELECT key FROM dedup_keys WHERE ` + sqlkit.In(a, "key", list) + ` AND expires > ` + a.AddTime(now)
		err := db.Each(ctx, query, a.List(), func(row sqlkit.Row) error {
			if err := row.Scan(&key); err != nil {
				return err
			}
			for _, i := range index[event.Hash(key)] {
				found[i] = true
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("look up dedup keys: %w", err)
		}
	}
	// The events are asked only about the keys no unexpired dedup key
	// answered for, each once.
	var rest []event.Hash
	for i, k := range keys {
		if !found[i] && index[k][0] == i {
			rest = append(rest, k)
		}
	}
	stored, err := events.EventIDs(ctx, rest)
	if err != nil {
		return nil, fmt.Errorf("look up dedup keys among events: %w", err)
	}
	for k := range stored {
		for _, i := range index[k] {
			found[i] = true
		}
	}
	return found, nil
}

// BatchRecordedSQL counts the batches of identity ? (0 or 1): what
// BatchRecorded asks, for a store that keeps it prepared.
const BatchRecordedSQL = `SELECT count(*) FROM event_batches WHERE id = ?`

// BatchRecorded reports whether the batch of identity id is stored
// (event_batches).
func BatchRecorded(ctx context.Context, db sqlkit.DB, id event.Hash) (bool, error) {
	var n int
	if err := db.QueryRow(ctx, BatchRecordedSQL, id[:]).Scan(&n); err != nil {
		return false, fmt.Errorf("batch recorded: %w", err)
	}
	return n > 0, nil
}
