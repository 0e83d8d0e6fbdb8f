// Package tokensql keeps the API tokens, written once on sqlkit.DB for
// both stores. Errors name the operation; the store prefixes its name.
package tokensql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

const columns = `id, user_id, name, hash, created, last_used`

func scan(row sqlkit.Row) (store.APIToken, error) {
	var t store.APIToken
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, sqlkit.Time(&t.Created), sqlkit.Time(&t.LastUsed)); err != nil {
		return store.APIToken{}, err
	}
	return t, nil
}

// Create stores a token; it sets t.ID, and t.Created when it is zero.
// ErrConflict when the hash is taken.
func Create(ctx context.Context, db sqlkit.DB, t *store.APIToken) error {
	if t.Created.IsZero() {
		t.Created = time.Now().UTC().Truncate(time.Microsecond)
	}
	d := db.Dialect()
	id, err := db.Insert(ctx, `INSERT INTO api_tokens (user_id, name, hash, created, last_used) VALUES (?, ?, ?, ?, ?)`,
		t.UserID, t.Name, t.Hash, d.Time(t.Created), d.NullTime(t.LastUsed))
	if db.IsUnique(err) {
		return fmt.Errorf("create API token: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create API token: %w", err)
	}
	t.ID = id
	return nil
}

// GetByHash finds a token by the hash of its value; ErrNotFound when
// there is none.
func GetByHash(ctx context.Context, db sqlkit.DB, hash []byte) (store.APIToken, error) {
	t, err := scan(db.QueryRow(ctx, `SELECT `+columns+` FROM api_tokens WHERE hash = ?`, hash))
	switch {
	case errors.Is(err, sql.ErrNoRows): // pgx.ErrNoRows is sql.ErrNoRows too
		return t, fmt.Errorf("get API token: %w", store.ErrNotFound)
	case err != nil:
		return t, fmt.Errorf("get API token: %w", err)
	}
	return t, nil
}

// List returns a user's tokens, oldest first.
func List(ctx context.Context, db sqlkit.DB, userID int64) ([]store.APIToken, error) {
	out, err := sqlkit.All(ctx, db, `SELECT `+columns+` FROM api_tokens WHERE user_id = ? ORDER BY id`, []any{userID}, scan)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return out, nil
}

// Delete removes one of a user's tokens; ErrNotFound when the user has no
// such token.
func Delete(ctx context.Context, db sqlkit.DB, userID, id int64) error {
	n, err := db.Exec(ctx, `DELETE FROM api_tokens WHERE id = ? AND user_id = ?`, id, userID)
	return one(n, err, "delete API token")
}

// Touch records when a token was last used; ErrNotFound when there is no
// token id.
func Touch(ctx context.Context, db sqlkit.DB, id int64, when time.Time) error {
	n, err := db.Exec(ctx, `UPDATE api_tokens SET last_used = ? WHERE id = ?`, db.Dialect().Time(when), id)
	return one(n, err, "touch API token")
}

// one reports ErrNotFound when a statement affected no row.
func one(n int64, err error, what string) error {
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	case n == 0:
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
