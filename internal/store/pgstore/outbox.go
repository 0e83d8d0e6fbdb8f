package pgstore

// The outbox of notification messages: queued, sent, retried, failed.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/outboxsql"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// scanMessage reads outboxsql.MessageColumns, followed by the body when withBody,
// followed by what more is given.
func scanMessage(row pgx.Row, withBody bool, more ...any) (store.OutboxMessage, error) {
	var (
		m    store.OutboxMessage
		sent pgtype.Timestamptz
	)
	dst := []any{&m.ID, &m.OrgID, &m.Org, &m.Kind, &m.Sender, &m.Recipients, &m.Subject, &m.MessageID, &m.Size, &m.Events, &m.Encrypted,
		&m.Status, &m.Attempts, &m.NextAttempt, &m.LastError, &m.Reply, &m.Created, &sent}
	if withBody {
		dst = append(dst, &m.Body)
	}
	dst = append(dst, more...)
	if err := row.Scan(dst...); err != nil {
		return store.OutboxMessage{}, err
	}
	m.Recipients = fromTextArray(m.Recipients)
	m.NextAttempt, m.Created, m.Sent = m.NextAttempt.UTC(), m.Created.UTC(), fromNullTime(sent)
	if withBody && m.Body == nil {
		m.Body = []byte{}
	}
	return m, nil
}

// outboxQueries are the outbox's statements in PostgreSQL's dialect.
var outboxQueries = outboxsql.For(sqlkit.Postgres)

// DueMessages returns queued messages whose NextAttempt is not after now,
// oldest first, with their bodies; limit as MessageQuery.Limit.
func (s *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]store.OutboxMessage, error) {
	rows, err := s.pool.Query(ctx, outboxQueries.Due, outboxQueries.DueArgs(now, limit)...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: due messages: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.OutboxMessage, error) { return scanMessage(row, true) })
	if err != nil {
		return nil, fmt.Errorf("pgstore: due messages: %w", err)
	}
	return out, nil
}

// transition applies change c to message id. A sent message is never
// changed again (so it cannot be sent twice): ErrConflict; ErrNotFound
// when there is no message id.
//
// This is a different strategy from SQLite's (update, then read the
// status if nothing changed): with several workers on one database, one
// statement locks the row and tells both the status it had and whether
// the update applied, so the answer cannot be about another worker's
// change made in between.
func (s *Store) transition(ctx context.Context, c outboxsql.Change, id int64) error {
	// The status the row had before the update, or the status it has
	// when the update did not apply; no row at all when there is none.
	var (
		status  string
		changed bool
		a       = sqlkit.Postgres.Args()
		idParam = a.Add(id)
	)
	err := s.pool.QueryRow(ctx, `WITH old AS (SELECT status FROM outbox_messages WHERE id = `+idParam+` FOR UPDATE),
		upd AS (UPDATE outbox_messages SET `+c.Set(a)+` WHERE id = `+idParam+` AND status <> 'sent' RETURNING id)
		SELECT old.status, EXISTS (SELECT 1 FROM upd) FROM old`, a.List()...).Scan(&status, &changed)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("pgstore: %s message %d: %w", c.What, id, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("pgstore: %s message %d: %w", c.What, id, err)
	case !changed:
		return fmt.Errorf("pgstore: %s message %d: it was %s already: %w", c.What, id, status, store.ErrConflict)
	}
	return nil
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
	m, err := scanMessage(s.pool.QueryRow(ctx, outboxQueries.Get, id), true)
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
		return nil, fmt.Errorf("pgstore: list messages: %w", err)
	}
	return out, nil
}

var _ store.Notifications = (*Store)(nil)
