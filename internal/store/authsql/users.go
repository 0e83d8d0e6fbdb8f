package authsql

// The accounts.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

const userColumns = `id, name, email, role, password_hash, totp_secret, language, disabled, created, coalesce(org_id, 0)`

func scanUser(row sqlkit.Row) (store.User, error) {
	var (
		u    store.User
		role string
	)
	if err := row.Scan(&u.ID, &u.Name, &u.Email, &role, &u.PasswordHash, &u.TOTPSecret, &u.Language, &u.Disabled, sqlkit.Time(&u.Created), &u.OrgID); err != nil {
		return store.User{}, err
	}
	u.Role = store.Role(role)
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
func CreateUser(ctx context.Context, db sqlkit.DB, u *store.User) error {
	if u.Created.IsZero() {
		u.Created = time.Now().UTC().Truncate(time.Microsecond)
	}
	id, err := db.Insert(ctx, `INSERT INTO users (name, email, role, password_hash, totp_secret, language, disabled, created, org_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Name, u.Email, string(u.Role), u.PasswordHash, u.TOTPSecret, u.Language, u.Disabled, db.Dialect().Time(u.Created), orgParam(u.OrgID))
	switch {
	case db.IsUnique(err):
		return fmt.Errorf("create user %q: %w", u.Name, store.ErrConflict)
	case db.IsForeignKey(err):
		return fmt.Errorf("create user %q: organisation %d: %w", u.Name, u.OrgID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("create user %q: %w", u.Name, err)
	}
	u.ID = id
	return nil
}

// GetUser returns the account with id; ErrNotFound when there is none.
func GetUser(ctx context.Context, db sqlkit.DB, id int64) (store.User, error) {
	return getUser(db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// GetUserByName returns the account with the login name; ErrNotFound
// when there is none.
func GetUserByName(ctx context.Context, db sqlkit.DB, name string) (store.User, error) {
	return getUser(db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
}

func getUser(row sqlkit.Row) (store.User, error) {
	u, err := scanUser(row)
	switch {
	case errors.Is(err, sql.ErrNoRows): // pgx.ErrNoRows is sql.ErrNoRows too
		return u, fmt.Errorf("get user: %w", store.ErrNotFound)
	case err != nil:
		return u, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// ListUsers returns every account, ordered by the bytes of the name.
func ListUsers(ctx context.Context, db sqlkit.DB) ([]store.User, error) {
	out, err := sqlkit.All(ctx, db, `SELECT `+userColumns+` FROM users ORDER BY `+db.Dialect().ByteOrder("name"), nil, scanUser)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UpdateUser replaces the account with u.ID (its creation time is kept).
// ErrNotFound when there is no such account or u.OrgID names no
// organisation; ErrConflict when the new name is taken.
func UpdateUser(ctx context.Context, db sqlkit.DB, u store.User) error {
	n, err := db.Exec(ctx, `UPDATE users SET name = ?, email = ?, role = ?, password_hash = ?,
		totp_secret = ?, language = ?, disabled = ?, org_id = ? WHERE id = ?`,
		u.Name, u.Email, string(u.Role), u.PasswordHash, u.TOTPSecret, u.Language, u.Disabled, orgParam(u.OrgID), u.ID)
	switch {
	case db.IsUnique(err):
		return fmt.Errorf("update user %d: %w", u.ID, store.ErrConflict)
	case db.IsForeignKey(err):
		return fmt.Errorf("update user %d: organisation %d: %w", u.ID, u.OrgID, store.ErrNotFound)
	}
	return affectedOne(n, err, "update user")
}

// CountUsers returns the number of accounts.
func CountUsers(ctx context.Context, db sqlkit.DB) (int64, error) {
	var n int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}
