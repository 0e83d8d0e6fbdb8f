// Package notifydb keeps the notifier's data: what the team decided (the
// policies and the templates' overrides), what was told to whom (the
// observations told to each organisation and the "seen again" tallies),
// and the commit of a notifier pass. Its tables are its own schemas
// (Schema, and told.Schema), created and migrated with the database; its
// queries are written once on the shared SQL layer (sqlkit) and run on
// SQLite and PostgreSQL alike, which its contract tests (notifytest) check. Errors
// name the operation and wrap store.ErrNotFound or store.ErrConflict.
//
// What was told to whom and the commit of a pass are written in package
// told, whose methods Store offers: a pass's commit writes, in one
// transaction, its messages to the outbox (internal/outbox/outboxdb), what
// it told, and consumes the event store's queue of events to notify
// (internal/store/queuesql): the queue is the event store's, filled in
// the events' own transaction.
package notifydb

import (
	"embed"

	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/notify/falsepositive"
	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the notification settings' tables. A policy names an
// organisation, so the schema comes after the constituency's. (What was
// told to whom is told.Schema.)
var Schema = sqlkit.Schema{Name: "notify", FS: migrations}

// Store keeps the notifier's data on a database. It is safe for
// concurrent use.
type Store struct {
	db sqlkit.DB
	// Store is what was told to whom and the commit of a pass: a package
	// of its own (told), which the notifier's tests use without this one.
	*told.Store
	// Marks are the observations marked false positives (package
	// falsepositive), which the notifier's tests also use on their own.
	*falsepositive.Marks
}

// New returns the notifier's data kept on db, which Schema and
// told.Schema have migrated (and the outbox's schema, and the event
// store's, whose queue a commit consumes), with events the event store
// on db.
func New(db sqlkit.DB, events store.EventLookup) *Store {
	return &Store{db: db, Store: told.New(db, events), Marks: falsepositive.New(db)}
}

var (
	_ notify.Settings       = (*Store)(nil)
	_ notify.Records        = (*Store)(nil)
	_ notify.FalsePositives = (*Store)(nil)
)

// emptyNil returns an empty list as nil: a list column (sqlkit's List)
// reads back as it was given.
func emptyNil(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return list
}
