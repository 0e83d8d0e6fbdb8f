// Package outboxsql holds the queries of the outbox of notification
// messages, written once on sqlkit.Dialect. Each store runs them through
// its own driver and scans a row into a store.OutboxMessage itself: the
// recipients are a JSON list in SQLite and a text[] in PostgreSQL, and
// the times are Unix microseconds in one and timestamptz in the other.
package outboxsql

import (
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// MessageColumns are the columns of a message without its body, in the
// order the stores' scanMessage reads them.
const MessageColumns = `id, org_id, org, kind, sender, recipients, subject, coalesce(message_id, ''), size, events, encrypted,
	status, attempts, next_attempt, last_error, reply, created, sent`

// Queries are the outbox's fixed statements in one dialect.
type Queries struct {
	d sqlkit.Dialect
	// Due selects the queued messages due at a time, oldest first, with
	// their bodies; DueArgs gives its parameters.
	Due string
	// Get selects message id with its body.
	Get string
	// Status selects the status of message id.
	Status string
	// Event selects the id and data of the event with a hash.
	Event string
}

// For returns the outbox's statements in dialect d.
func For(d sqlkit.Dialect) Queries {
	return Queries{
		d: d,
		Due: d.Rebind(`SELECT ` + MessageColumns + `, body FROM outbox_messages
		WHERE status = 'queued' AND next_attempt <= ? ORDER BY id LIMIT ?`),
		Get:    d.Rebind(`SELECT ` + MessageColumns + `, body FROM outbox_messages WHERE id = ?`),
		Status: d.Rebind(`SELECT status FROM outbox_messages WHERE id = ?`),
		Event:  d.Rebind(`SELECT id, data FROM events WHERE hash = ?`),
	}
}

// DueArgs are the parameters of Due: the messages due at now, at most
// limit (as MessageQuery.Limit).
func (q Queries) DueArgs(now time.Time, limit int) []any {
	return []any{q.d.Time(now), store.MessageLimit(limit)}
}

// List returns the query of the messages mq selects, newest first, without
// their bodies but followed by their event_ids list, and its parameters.
// When mq names an event, evID is its id and orgs its organisations (not
// empty): the query selects the messages of those organisations whose
// range of events holds it, and has no LIMIT, because the limit applies
// after the lists are read (store.EventIDsHave).
func (q Queries) List(mq store.MessageQuery, orgs []string, evID int64) (string, []any) {
	var (
		a     = q.d.Args()
		where []string
	)
	if evID != 0 {
		where = append(where, sqlkit.In(a, "org", orgs)+" AND last_event >= "+a.Add(evID)+" AND first_event <= "+a.Add(evID))
	}
	if mq.OrgID != 0 {
		where = append(where, "org_id = "+a.Add(mq.OrgID))
	}
	if mq.Status != "" {
		where = append(where, "status = "+a.Add(mq.Status))
	}
	if mq.BeforeID > 0 {
		where = append(where, "id < "+a.Add(mq.BeforeID))
	}
	query := `SELECT ` + MessageColumns + `, event_ids FROM outbox_messages`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC"
	if evID == 0 {
		query += " LIMIT " + a.Add(store.MessageLimit(mq.Limit))
	}
	return query, a.List()
}

// A Change is what an outcome of delivery sets in a message: the SET
// clause of its UPDATE. The stores differ in the statement around it (see
// their transition).
type Change struct {
	// What names the change in errors: "mark sent", "retry", "fail".
	What string
	set  func(a *sqlkit.Args) string
}

// Set returns the SET clause, adding its parameters to a.
func (c Change) Set(a *sqlkit.Args) string { return c.set(a) }

// Sent records a delivery: status sent, when, the server's reply, and one
// more attempt (the one that succeeded).
func Sent(when time.Time, reply string) Change {
	return Change{What: "mark sent", set: func(a *sqlkit.Args) string {
		return `status = 'sent', sent = ` + a.AddTime(when) + `, reply = ` + a.Add(reply) + `, attempts = attempts + 1`
	}}
}

// Retry records a temporary failure: the message stays (or is put back)
// in the queue until next.
func Retry(attempts int, next time.Time, lastError string) Change {
	return Change{What: "retry", set: func(a *sqlkit.Args) string {
		return `status = 'queued', attempts = ` + a.Add(attempts) + `, next_attempt = ` + a.AddTime(next) + `, last_error = ` + a.Add(lastError)
	}}
}

// Fail records a permanent failure; the message leaves the queue.
func Fail(attempts int, lastError string) Change {
	return Change{What: "fail", set: func(a *sqlkit.Args) string {
		return `status = 'failed', attempts = ` + a.Add(attempts) + `, last_error = ` + a.Add(lastError)
	}}
}
