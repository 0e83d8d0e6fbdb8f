// Package notifydb keeps what the team decided about notifications: the
// policies and the templates' overrides. Its tables are its own schema
// (Schema), created and migrated with the database; its queries are
// written once on the shared SQL layer (sqlkit) and run on SQLite and
// PostgreSQL alike, which its contract tests (notifytest) check. Errors
// name the operation and wrap store.ErrNotFound.
//
// The queue of events to notify, what was told to whom, the commit of a
// notifier pass and the outbox stay with the event store for now: the
// queue is filled in the events' own transaction, and a pass's commit
// consumes it in the transaction that queues its messages.
package notifydb

import (
	"embed"

	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the notification settings' tables. A policy names an
// organisation, so the schema comes after the constituency's.
var Schema = sqlkit.Schema{Name: "notify", FS: migrations}

// Store keeps the notification settings on a database. It is safe for
// concurrent use.
type Store struct {
	db sqlkit.DB
}

// New returns the notification settings kept on db, which Schema has
// migrated.
func New(db sqlkit.DB) *Store { return &Store{db: db} }

var _ notify.Settings = (*Store)(nil)

// emptyNil returns an empty list as nil: a list column (sqlkit's List)
// reads back as it was given.
func emptyNil(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return list
}
