// Package statesql keeps the small key-value state (HTTP validators,
// cursors, settings), written once on sqlkit.DB for both stores. Listing
// by prefix stays in each store: SQLite reads a range of keys, PostgreSQL
// uses starts_with because its collation need not order keys byte by
// byte. Errors name the operation; the store prefixes its name.
package statesql

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// Get returns the value under key, never nil; ErrNotFound when absent.
func Get(ctx context.Context, db sqlkit.DB, key string) ([]byte, error) {
	var v []byte
	err := db.QueryRow(ctx, `SELECT value FROM state WHERE key = ?`, key).Scan(&v)
	if err != nil {
		return nil, store.NotFound(err, "get state "+key)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// Put sets key to value.
func Put(ctx context.Context, db sqlkit.DB, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	if _, err := db.Exec(ctx, `INSERT INTO state (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("put state %s: %w", key, err)
	}
	return nil
}

// PutAll sets every key of entries to its value, in one statement for
// many (sqlkit.MultiRow): the notifier's commit writes the last-digest
// times of hundreds of organisations in its transaction.
func PutAll(ctx context.Context, db sqlkit.DB, entries map[string][]byte) error {
	if len(entries) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(entries))
	err := sqlkit.MultiRow(ctx, db, len(keys), 2, func(n int) string {
		return `INSERT INTO state (key, value) VALUES ` + sqlkit.ValueRows(2, n) + `
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`
	}, func(dst []any, i int) []any {
		v := entries[keys[i]]
		if v == nil {
			v = []byte{}
		}
		return append(dst, keys[i], v)
	})
	if err != nil {
		return fmt.Errorf("put state: %w", err)
	}
	return nil
}

// Delete removes key; removing a missing key is not an error.
func Delete(ctx context.Context, db sqlkit.DB, key string) error {
	if _, err := db.Exec(ctx, `DELETE FROM state WHERE key = ?`, key); err != nil {
		return fmt.Errorf("delete state %s: %w", key, err)
	}
	return nil
}

// Swap sets key to value only when it holds old (compare-and-set), and
// reports whether it did; a nil old means "only when key is absent". The
// test and the write are one statement, so of two processes swapping
// from the same value one wins: PostgreSQL re-reads the row the other
// updated and finds the value changed; SQLite has one writer.
func Swap(ctx context.Context, db sqlkit.DB, key string, old, value []byte) (bool, error) {
	if value == nil {
		value = []byte{}
	}
	var (
		n   int64
		err error
	)
	if old == nil {
		n, err = db.Exec(ctx, `INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value)
	} else {
		n, err = db.Exec(ctx, `UPDATE state SET value = ? WHERE key = ? AND value = ?`, value, key, old)
	}
	if err != nil {
		return false, fmt.Errorf("swap state %s: %w", key, err)
	}
	return n == 1, nil
}
