package sqlitestore

// The outbox of notification messages: queued, sent, retried, failed.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/outboxsql"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// scanMessage reads outboxsql.MessageColumns, followed by the body when withBody,
// followed by what more is given.
func scanMessage(row interface{ Scan(...any) error }, withBody bool, more ...any) (store.OutboxMessage, error) {
	var (
		m                   store.OutboxMessage
		recipients          string
		nextAttempt, create int64
		sent                sql.NullInt64
	)
	dst := []any{&m.ID, &m.OrgID, &m.Org, &m.Kind, &m.Sender, &recipients, &m.Subject, &m.MessageID, &m.Size, &m.Events, &m.Encrypted,
		&m.Status, &m.Attempts, &nextAttempt, &m.LastError, &m.Reply, &create, &sent}
	if withBody {
		dst = append(dst, &m.Body)
	}
	dst = append(dst, more...)
	if err := row.Scan(dst...); err != nil {
		return store.OutboxMessage{}, err
	}
	var err error
	if m.Recipients, err = fromJSONList(recipients); err != nil {
		return store.OutboxMessage{}, fmt.Errorf("message %d: recipients: %w", m.ID, err)
	}
	m.NextAttempt, m.Created, m.Sent = time.UnixMicro(nextAttempt).UTC(), time.UnixMicro(create).UTC(), fromMicros(sent)
	if withBody && m.Body == nil {
		m.Body = []byte{}
	}
	return m, nil
}

// outboxQueries are the outbox's statements in SQLite's dialect.
var outboxQueries = outboxsql.For(sqlkit.SQLite)

// DueMessages returns queued messages whose NextAttempt is not after now,
// oldest first, with their bodies; limit as MessageQuery.Limit.
func (s *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]store.OutboxMessage, error) {
	out, err := sqlkit.Query(ctx, s.read, outboxQueries.Due, outboxQueries.DueArgs(now, limit),
		func(rows *sql.Rows) (store.OutboxMessage, error) { return scanMessage(rows, true) })
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: due messages: %w", err)
	}
	return out, nil
}

// transition applies change c to message id. A sent message is never
// changed again (so it cannot be sent twice): ErrConflict; ErrNotFound
// when there is no message id.
//
// This is a different strategy from PostgreSQL's, which updates and reads
// the old status in one statement that locks the row: SQLite has neither
// FOR UPDATE nor an UPDATE inside WITH, and its one writer connection
// already serialises the writes, so the status is read only when the
// update did not apply.
func (s *Store) transition(ctx context.Context, c outboxsql.Change, id int64) error {
	a := sqlkit.SQLite.Args()
	query := `UPDATE outbox_messages SET ` + c.Set(a) + ` WHERE id = ` + a.Add(id) + ` AND status <> 'sent'`
	res, err := s.write.ExecContext(ctx, query, a.List()...)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s message %d: %w", c.What, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlitestore: %s message %d: %w", c.What, id, err)
	}
	if n == 1 {
		return nil
	}
	var status string
	err = s.write.QueryRowContext(ctx, outboxQueries.Status, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: %s message %d: %w", c.What, id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: %s message %d: %w", c.What, id, err)
	}
	return fmt.Errorf("sqlitestore: %s message %d: it was %s already: %w", c.What, id, status, store.ErrConflict)
}

// MarkMessageSent records the delivery of message id: status sent, when,
// the server's reply, and one more attempt (the one that succeeded).
func (s *Store) MarkMessageSent(ctx context.Context, id int64, when time.Time, reply string) error {
	return s.transition(ctx, outboxsql.Sent(when, reply), id)
}

// RetryMessage records a temporary failure: the message stays (or is put
// back) in the queue until next.
func (s *Store) RetryMessage(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error {
	return s.transition(ctx, outboxsql.Retry(attempts, next, lastError), id)
}

// FailMessage records a permanent failure; the message leaves the queue.
func (s *Store) FailMessage(ctx context.Context, id int64, attempts int, lastError string) error {
	return s.transition(ctx, outboxsql.Fail(attempts, lastError), id)
}

// GetMessage returns message id with its body.
func (s *Store) GetMessage(ctx context.Context, id int64) (store.OutboxMessage, error) {
	m, err := scanMessage(s.read.QueryRowContext(ctx, outboxQueries.Get, id), true)
	return m, notFound(err, fmt.Sprintf("get message %d", id))
}

// ListMessages returns the messages q selects, newest first, without
// their bodies.
func (s *Store) ListMessages(ctx context.Context, q store.MessageQuery) ([]store.OutboxMessage, error) {
	scan := func(row sqlkit.Row, eventIDs *[]byte) (store.OutboxMessage, error) {
		return scanMessage(row, false, eventIDs)
	}
	out, err := outboxQueries.ListMessages(ctx, s.DB(), q, decodeEvent, scan)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list messages: %w", err)
	}
	return out, nil
}

var _ store.Notifications = (*Store)(nil)
