package outboxdb

// The outbox's statements, written once on sqlkit.Dialect.

import (
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// MessageColumns are the columns of a message without its body, in the
// order scanMessage reads them.
const MessageColumns = `id, org_id, org, kind, sender, recipients, subject, coalesce(message_id, ''), size, events, encrypted,
	status, attempts, next_attempt, last_error, reply, created, sent`

// queries are the outbox's fixed statements in one dialect.
type queries struct {
	d sqlkit.Dialect
	// due selects the queued messages due at a time, oldest first, with
	// their bodies; dueArgs gives its parameters.
	due string
	// get selects message id with its body.
	get string
	// status selects the status of message id.
	status string
}

// queriesFor returns the outbox's statements in dialect d.
func queriesFor(d sqlkit.Dialect) queries {
	return queries{
		d: d,
		due: d.Rebind(`SELECT ` + MessageColumns + `, body_codec, body FROM outbox_messages
		WHERE status = 'queued' AND next_attempt <= ? ORDER BY id LIMIT ?`),
		get:    d.Rebind(`SELECT ` + MessageColumns + `, body_codec, body FROM outbox_messages WHERE id = ?`),
		status: d.Rebind(`SELECT status FROM outbox_messages WHERE id = ?`),
	}
}

// dueArgs are the parameters of due: the messages due at now, at most
// limit (as MessageQuery.Limit).
func (q queries) dueArgs(now time.Time, limit int) []any {
	return []any{q.d.Time(now), outbox.MessageLimit(limit)}
}

// list returns the query of the messages mq selects, newest first, without
// their bodies but followed by their event_ids list, and its parameters.
// When mq names an event, evID is its id and orgs its organisations (not
// empty): the query selects the messages of those organisations whose
// range of events holds it, and has no LIMIT, because the limit applies
// after the lists are read (eventIDsHave).
func (q queries) list(mq outbox.MessageQuery, orgs []string, evID int64) (string, []any) {
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
		query += " LIMIT " + a.Add(outbox.MessageLimit(mq.Limit))
	}
	return query, a.List()
}

// A change is what an outcome of delivery sets in a message: the SET
// clause of its UPDATE. The dialects differ in the statement around it
// (see transition).
type change struct {
	// what names the change in errors: "mark sent", "retry", "fail".
	what string
	set  func(a *sqlkit.Args) string
}

// sent records a delivery: status sent, when, the server's reply, and one
// more attempt (the one that succeeded).
func sent(when time.Time, reply string) change {
	return change{what: "mark sent", set: func(a *sqlkit.Args) string {
		return `status = 'sent', sent = ` + a.AddTime(when) + `, reply = ` + a.Add(reply) + `, attempts = attempts + 1`
	}}
}

// retry records a temporary failure: the message stays (or is put back)
// in the queue until next.
func retry(attempts int, next time.Time, lastError string) change {
	return change{what: "retry", set: func(a *sqlkit.Args) string {
		return `status = 'queued', attempts = ` + a.Add(attempts) + `, next_attempt = ` + a.AddTime(next) + `, last_error = ` + a.Add(lastError)
	}}
}

// fail records a permanent failure; the message leaves the queue.
func fail(attempts int, lastError string) change {
	return change{what: "fail", set: func(a *sqlkit.Args) string {
		return `status = 'failed', attempts = ` + a.Add(attempts) + `, last_error = ` + a.Add(lastError)
	}}
}
