package authdb

// The accounts.

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

const userColumns = `id, name, email, role, password_hash, totp_secret, language, disabled, created, coalesce(org_id, 0)`

func scanUser(row sqlkit.Row) (auth.User, error) {
	var (
		u    auth.User
		role string
	)
	if err := row.Scan(&u.ID, &u.Name, &u.Email, &role, &u.PasswordHash, &u.TOTPSecret, &u.Language, &u.Disabled, sqlkit.Time(&u.Created), &u.OrgID); err != nil {
		return auth.User{}, err
	}
	u.Role = auth.Role(role)
	return u, nil
}

// orgParam is an account's organisation as a parameter: none is NULL.
func orgParam(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// CreateUser adds an account; it sets u.ID, and u.Created when it is
// zero. ErrConflict when the name is taken, ErrNotFound when u.OrgID names
// no organisation.
func (a *Store) CreateUser(ctx context.Context, u *auth.User) error {
	if u.Created.IsZero() {
		u.Created = time.Now().UTC().Truncate(time.Microsecond)
	}
	id, err := a.db.Insert(ctx, `INSERT INTO users (name, email, role, password_hash, totp_secret, language, disabled, created, org_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Name, u.Email, string(u.Role), u.PasswordHash, u.TOTPSecret, u.Language, u.Disabled, a.db.Dialect().Time(u.Created), orgParam(u.OrgID))
	switch {
	case a.db.IsUnique(err):
		return fmt.Errorf("create user %q: %w", u.Name, store.ErrConflict)
	case a.db.IsForeignKey(err):
		return fmt.Errorf("create user %q: organisation %d: %w", u.Name, u.OrgID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("create user %q: %w", u.Name, err)
	}
	u.ID = id
	return nil
}

// GetUser returns the account with id; ErrNotFound when there is none.
func (a *Store) GetUser(ctx context.Context, id int64) (auth.User, error) {
	return getUser(a.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// GetUserByName returns the account with the login name; ErrNotFound
// when there is none.
func (a *Store) GetUserByName(ctx context.Context, name string) (auth.User, error) {
	return getUser(a.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
}

func getUser(row sqlkit.Row) (auth.User, error) {
	u, err := scanUser(row)
	return u, store.NotFound(err, "get user")
}

// ListUsers returns every account, ordered by the bytes of the name.
func (a *Store) ListUsers(ctx context.Context) ([]auth.User, error) {
	out, err := sqlkit.All(ctx, a.db, `SELECT `+userColumns+` FROM users ORDER BY `+a.db.Dialect().ByteOrder("name"), nil, scanUser)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UpdateUser replaces the account with u.ID (its creation time is kept).
// ErrNotFound when there is no such account or u.OrgID names no
// organisation; ErrConflict when the new name is taken.
func (a *Store) UpdateUser(ctx context.Context, u auth.User) error {
	n, err := a.db.Exec(ctx, `UPDATE users SET name = ?, email = ?, role = ?, password_hash = ?,
		totp_secret = ?, language = ?, disabled = ?, org_id = ? WHERE id = ?`,
		u.Name, u.Email, string(u.Role), u.PasswordHash, u.TOTPSecret, u.Language, u.Disabled, orgParam(u.OrgID), u.ID)
	switch {
	case a.db.IsUnique(err):
		return fmt.Errorf("update user %d: %w", u.ID, store.ErrConflict)
	case a.db.IsForeignKey(err):
		return fmt.Errorf("update user %d: organisation %d: %w", u.ID, u.OrgID, store.ErrNotFound)
	}
	return affectedOne(n, err, "update user")
}

// CountUsers returns the number of accounts.
func (a *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := a.db.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// DeleteUser removes the account id with its sessions, API tokens and
// recovery codes, in one transaction (explicit deletes, since a database
// made before the accounts had a schema of their own may lack the
// cascades); the account's saved searches go by savedsearchdb's ON
// DELETE CASCADE; the audit log keeps what it did. ErrNotFound when there is
// no such account; auth.ErrLastAdmin when it is the last enabled
// administrator. In PostgreSQL the enabled administrators' rows are
// locked first, so two administrators deleting each other at the same
// time cannot leave none.
func (a *Store) DeleteUser(ctx context.Context, id int64) error {
	err := a.db.Tx(ctx, func(tx sqlkit.DB) error {
		lock := ""
		if tx.Dialect() != sqlkit.SQLite {
			lock = ` FOR UPDATE`
		}
		admins, err := sqlkit.All(ctx, tx, `SELECT id FROM users WHERE role = ? AND disabled = ?`+lock,
			[]any{string(auth.RoleAdmin), false}, func(row sqlkit.Row) (int64, error) {
				var admin int64
				return admin, row.Scan(&admin)
			})
		if err != nil {
			return err
		}
		if len(admins) == 1 && admins[0] == id {
			return auth.ErrLastAdmin
		}
		for _, table := range []string{"sessions", "api_tokens", "recovery_codes"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE user_id = ?`, id); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
		n, err := tx.Exec(ctx, `DELETE FROM users WHERE id = ?`, id)
		return affectedOne(n, err, "users")
	})
	if err != nil {
		return fmt.Errorf("delete user %d: %w", id, err)
	}
	return nil
}
