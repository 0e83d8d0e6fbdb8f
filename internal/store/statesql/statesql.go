// Package statesql keeps the small key-value state (HTTP validators,
// cursors, settings), written once on sqlkit.DB for both stores. Listing
// by prefix stays in each store: SQLite reads a range of keys, PostgreSQL
// uses starts_with because its collation need not order keys byte by
// byte. Errors name the operation; the store prefixes its name.
package statesql

import (
	"context"
	"fmt"

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

// Delete removes key; removing a missing key is not an error.
func Delete(ctx context.Context, db sqlkit.DB, key string) error {
	if _, err := db.Exec(ctx, `DELETE FROM state WHERE key = ?`, key); err != nil {
		return fmt.Errorf("delete state %s: %w", key, err)
	}
	return nil
}
