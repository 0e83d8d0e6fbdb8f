package authdb

// The API tokens.

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

const tokenColumns = `id, user_id, name, hash, created, last_used`

func scanToken(row sqlkit.Row) (auth.APIToken, error) {
	var t auth.APIToken
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, sqlkit.Time(&t.Created), sqlkit.Time(&t.LastUsed)); err != nil {
		return auth.APIToken{}, err
	}
	return t, nil
}

// CreateAPIToken stores a token; it sets t.ID, and t.Created when it is zero.
// ErrConflict when the hash is taken.
func (a *Store) CreateAPIToken(ctx context.Context, t *auth.APIToken) error {
	if t.Created.IsZero() {
		t.Created = time.Now().UTC().Truncate(time.Microsecond)
	}
	d := a.db.Dialect()
	id, err := a.db.Insert(ctx, `INSERT INTO api_tokens (user_id, name, hash, created, last_used) VALUES (?, ?, ?, ?, ?)`,
		t.UserID, t.Name, t.Hash, d.Time(t.Created), d.NullTime(t.LastUsed))
	if a.db.IsUnique(err) {
		return fmt.Errorf("create API token: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create API token: %w", err)
	}
	t.ID = id
	return nil
}

// GetAPITokenByHash finds a token by the hash of its value; ErrNotFound when
// there is none.
func (a *Store) GetAPITokenByHash(ctx context.Context, hash []byte) (auth.APIToken, error) {
	t, err := scanToken(a.db.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ?`, hash))
	return t, store.NotFound(err, "get API token")
}

// ListAPITokens returns a user's tokens, oldest first.
func (a *Store) ListAPITokens(ctx context.Context, userID int64) ([]auth.APIToken, error) {
	out, err := sqlkit.All(ctx, a.db, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = ? ORDER BY id`, []any{userID}, scanToken)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return out, nil
}

// DeleteAPIToken removes one of a user's tokens; ErrNotFound when the user has no
// such token.
func (a *Store) DeleteAPIToken(ctx context.Context, userID, id int64) error {
	n, err := a.db.Exec(ctx, `DELETE FROM api_tokens WHERE id = ? AND user_id = ?`, id, userID)
	return affectedOne(n, err, "delete API token")
}

// TouchAPIToken records when a token was last used; ErrNotFound when there is no
// token id.
func (a *Store) TouchAPIToken(ctx context.Context, id int64, when time.Time) error {
	n, err := a.db.Exec(ctx, `UPDATE api_tokens SET last_used = ? WHERE id = ?`, a.db.Dialect().Time(when), id)
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
