package authsql

// The API tokens.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

const tokenColumns = `id, user_id, name, hash, created, last_used`

func scanToken(row sqlkit.Row) (store.APIToken, error) {
	var t store.APIToken
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, sqlkit.Time(&t.Created), sqlkit.Time(&t.LastUsed)); err != nil {
		return store.APIToken{}, err
	}
	return t, nil
}

// CreateToken stores a token; it sets t.ID, and t.Created when it is zero.
// ErrConflict when the hash is taken.
func CreateToken(ctx context.Context, db sqlkit.DB, t *store.APIToken) error {
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

// GetTokenByHash finds a token by the hash of its value; ErrNotFound when
// there is none.
func GetTokenByHash(ctx context.Context, db sqlkit.DB, hash []byte) (store.APIToken, error) {
	t, err := scanToken(db.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ?`, hash))
	switch {
	case errors.Is(err, sql.ErrNoRows): // pgx.ErrNoRows is sql.ErrNoRows too
		return t, fmt.Errorf("get API token: %w", store.ErrNotFound)
	case err != nil:
		return t, fmt.Errorf("get API token: %w", err)
	}
	return t, nil
}

// ListTokens returns a user's tokens, oldest first.
func ListTokens(ctx context.Context, db sqlkit.DB, userID int64) ([]store.APIToken, error) {
	out, err := sqlkit.All(ctx, db, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = ? ORDER BY id`, []any{userID}, scanToken)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return out, nil
}

// DeleteToken removes one of a user's tokens; ErrNotFound when the user has no
// such token.
func DeleteToken(ctx context.Context, db sqlkit.DB, userID, id int64) error {
	n, err := db.Exec(ctx, `DELETE FROM api_tokens WHERE id = ? AND user_id = ?`, id, userID)
	return affectedOne(n, err, "delete API token")
}

// TouchToken records when a token was last used; ErrNotFound when there is no
// token id.
func TouchToken(ctx context.Context, db sqlkit.DB, id int64, when time.Time) error {
	n, err := db.Exec(ctx, `UPDATE api_tokens SET last_used = ? WHERE id = ?`, db.Dialect().Time(when), id)
	return affectedOne(n, err, "touch API token")
}

// affectedOne reports ErrNotFound when a statement affected no row.
func affectedOne(n int64, err error, what string) error {
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	case n == 0:
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
