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
	"time"

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

// Prune removes keys expired before now.
func Prune(ctx context.Context, db sqlkit.DB, now time.Time) error {
	if _, err := db.Exec(ctx, `DELETE FROM dedup_keys WHERE expires < ?`, db.Dialect().Time(now)); err != nil {
		return fmt.Errorf("prune dedup keys: %w", err)
	}
	return nil
}
