// Package outboxdb keeps the outbox's messages: queued by the notifier's
// commit, delivered by the outbox's Sender, read by the console and the
// API. Its table is its own schema (Schema), created and migrated with the
// database; its queries are written once on the shared SQL layer (sqlkit),
// and where the two dialects call for different strategies (queueing
// messages, a delivery's change of state) each has its own. Its contract
// tests (outboxtest) run on SQLite and PostgreSQL. Errors name the
// operation and wrap store.ErrNotFound or store.ErrConflict.
package outboxdb

import (
	"embed"
	"fmt"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the outbox's table. A message names its organisation, so the
// schema comes after the constituency's.
var Schema = sqlkit.Schema{Name: "outbox", FS: migrations}

// Store keeps the outbox's messages on a database. It is safe for
// concurrent use.
type Store struct {
	db sqlkit.DB
	q  queries
	// events finds an event's id and organisations by hash (the messages
	// of an event): the event store's, whatever layout it keeps its
	// events in.
	events store.EventLookup
}

// New returns the outbox kept on db, which Schema has migrated, with
// events the event store on db.
func New(db sqlkit.DB, events store.EventLookup) *Store {
	return &Store{db: db, q: queriesFor(db.Dialect()), events: events}
}

var _ outbox.Messages = (*Store)(nil)

// The recipients are a list column (sqlkit.Dialect.List and ListDest): a
// JSON array in SQLite, which has no arrays, and a text[] in PostgreSQL;
// neither is ever NULL, and an empty list reads back as nil, as it was
// given. Times are Unix microseconds in SQLite and timestamptz in
// PostgreSQL (sqlkit.Dialect.Time, sqlkit.Time).

// scanMessage reads MessageColumns, followed by the body's encoding and
// the body when withBody (unpacked: outbox.UnpackBody), followed by what
// more is given.
func scanMessage(d sqlkit.Dialect, row sqlkit.Row, withBody bool, more ...any) (outbox.Message, error) {
	var m outbox.Message
	dst := []any{&m.ID, &m.OrgID, &m.Org, &m.Kind, &m.Sender, d.ListDest(&m.Recipients), &m.Subject, &m.MessageID, &m.Size, &m.Events, &m.Encrypted,
		&m.Status, &m.Attempts, sqlkit.Time(&m.NextAttempt), &m.LastError, &m.Reply, sqlkit.Time(&m.Created), sqlkit.Time(&m.Sent)}
	var codec int
	if withBody {
		dst = append(dst, &codec, &m.Body)
	}
	dst = append(dst, more...)
	if err := row.Scan(dst...); err != nil {
		return outbox.Message{}, err
	}
	if len(m.Recipients) == 0 {
		m.Recipients = nil
	}
	if withBody {
		body, err := outbox.UnpackBody(codec, m.Body, m.Size)
		if err != nil {
			// The message without its body, for a caller that fails it.
			m.Body = nil
			return m, fmt.Errorf("message %d: %w", m.ID, err)
		}
		if m.Body = body; m.Body == nil {
			m.Body = []byte{}
		}
	}
	return m, nil
}
