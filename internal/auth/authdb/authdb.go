// Package authdb keeps the accounts' data: users, browser sessions, API
// tokens, the second factor's records and the audit log. Its tables are
// its own schema (Schema), created and migrated with the database; its
// queries are written once on the shared SQL layer (sqlkit) and run on
// SQLite and PostgreSQL alike, which its contract tests check. Errors name
// the operation and wrap store.ErrNotFound or store.ErrConflict.
package authdb

import (
	"embed"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the accounts' tables. Their users refer to organisations, so
// the schema comes after the constituency's.
var Schema = sqlkit.Schema{Name: "auth", FS: migrations}

// Store keeps the accounts' data on a database. It is safe for
// concurrent use.
type Store struct {
	db sqlkit.DB
}

// New returns the accounts kept on db, which Schema has migrated.
func New(db sqlkit.DB) *Store { return &Store{db: db} }

var _ auth.Accounts = (*Store)(nil)
