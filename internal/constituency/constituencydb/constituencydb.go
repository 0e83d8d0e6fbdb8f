// Package constituencydb keeps the constituency's data: the organisations
// with their networks, AS numbers, domains and contacts, the constituency
// version, the change requests and the handles ever given. Its tables are
// its own schema (Schema), created and migrated with the database; its
// queries are written once on the shared SQL layer (sqlkit) and run on
// SQLite and PostgreSQL alike, which its contract tests
// (constituencytest) check. Where the two databases are best served by
// different statements (writing an organisation's holdings: one row at a
// time in SQLite, one array a table in PostgreSQL) the dialect chooses,
// and both ways are checked by the same tests. Errors name the operation
// and wrap store.ErrNotFound or store.ErrConflict.
//
// An organisation is named, by handle or ID, in tables that are not the
// constituency's: the event store's index of events by organisation
// (event_orgs), the notifier's queue, policies, observations and tallies,
// and the accounts (users.org_id). The constituency never reads or writes
// them: DeleteOrganisation runs the DeleteHooks the database gives New, in
// its transaction, and each capability answers there for its own tables
// (the accounts refuse while one belongs to the organisation; the others
// forget what they keep under it), so that an organisation leaves the
// whole database in one transaction. The event store reads only its own
// index, which InsertEvents writes from the events' extra.constituency,
// and never organisation_handles: a retired handle names no organisation.
package constituencydb

import (
	"embed"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the constituency's tables. The accounts' users refer to
// organisations, so this schema comes before auth's.
var Schema = sqlkit.Schema{Name: "constituency", FS: migrations}

// Store keeps the constituency on a database. It is safe for concurrent
// use.
type Store struct {
	db    sqlkit.DB
	hooks []DeleteHook
}

// New returns the constituency kept on db, which Schema has migrated.
// hooks are the other capabilities' parts in deleting an organisation, run
// in the order given (internal/database gives them).
func New(db sqlkit.DB, hooks ...DeleteHook) *Store { return &Store{db: db, hooks: hooks} }

var _ constituency.Organisations = (*Store)(nil)
