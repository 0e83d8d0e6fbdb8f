package authdb

// The console's login sessions.

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// CreateSession stores a session; a zero Created is now. ErrConflict when its id
// is taken.
func (a *Store) CreateSession(ctx context.Context, sess auth.Session) error {
	created := sess.Created
	if created.IsZero() {
		created = time.Now()
	}
	d := a.db.Dialect()
	_, err := a.db.Exec(ctx, `INSERT INTO sessions (id_hash, user_id, csrf_token, created, expires) VALUES (?, ?, ?, ?, ?)`,
		sess.IDHash, sess.UserID, sess.CSRFToken, d.Time(created), d.Time(sess.Expires))
	if a.db.IsUnique(err) {
		return fmt.Errorf("create session: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetSession returns the session as stored (callers check Expires); ErrNotFound
// when there is none.
func (a *Store) GetSession(ctx context.Context, idHash []byte) (auth.Session, error) {
	var sess auth.Session
	err := a.db.QueryRow(ctx, `SELECT id_hash, user_id, csrf_token, created, expires FROM sessions WHERE id_hash = ?`, idHash).
		Scan(&sess.IDHash, &sess.UserID, &sess.CSRFToken, sqlkit.Time(&sess.Created), sqlkit.Time(&sess.Expires))
	if err != nil {
		return auth.Session{}, store.NotFound(err, "get session")
	}
	return sess, nil
}

// DeleteSession removes one session; deleting a missing one is not an error.
func (a *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	if _, err := a.db.Exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions logs a user out everywhere.
func (a *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	if _, err := a.db.Exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("delete user sessions: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions that expired before now.
func (a *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	if _, err := a.db.Exec(ctx, `DELETE FROM sessions WHERE expires < ?`, a.db.Dialect().Time(now)); err != nil {
		return fmt.Errorf("delete expired sessions: %w", err)
	}
	return nil
}
