package pgstore

// The outbox of notification messages: queued, sent, retried, failed.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

const messageColumns = `id, org_id, org, kind, sender, recipients, subject, coalesce(message_id, ''), size, events, encrypted,
	status, attempts, next_attempt, last_error, reply, created, sent`

// scanMessage reads messageColumns, followed by the body when withBody,
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

// DueMessages returns queued messages whose NextAttempt is not after now,
// oldest first, with their bodies; limit as MessageQuery.Limit.
func (s *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]store.OutboxMessage, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+messageColumns+`, body FROM outbox_messages
		WHERE status = 'queued' AND next_attempt <= $1 ORDER BY id LIMIT $2`, now, store.MessageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("pgstore: due messages: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.OutboxMessage, error) { return scanMessage(row, true) })
	if err != nil {
		return nil, fmt.Errorf("pgstore: due messages: %w", err)
	}
	return out, nil
}

// transition changes a message's delivery state. A sent message is never
// changed again (so it cannot be sent twice): ErrConflict; ErrNotFound
// when there is no message id.
func (s *Store) transition(ctx context.Context, what string, id int64, set string, args ...any) error {
	// The status the row had before the update, or the status it has
	// when the update did not apply; no row at all when there is none.
	var (
		status  string
		changed bool
	)
	err := s.pool.QueryRow(ctx, `WITH old AS (SELECT status FROM outbox_messages WHERE id = $1 FOR UPDATE),
		upd AS (UPDATE outbox_messages SET `+set+` WHERE id = $1 AND status <> 'sent' RETURNING id)
		SELECT old.status, EXISTS (SELECT 1 FROM upd) FROM old`, append([]any{id}, args...)...).Scan(&status, &changed)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("pgstore: %s message %d: %w", what, id, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("pgstore: %s message %d: %w", what, id, err)
	case !changed:
		return fmt.Errorf("pgstore: %s message %d: it was %s already: %w", what, id, status, store.ErrConflict)
	}
	return nil
}

// MarkMessageSent records the delivery of message id: status sent, when,
// the server's reply, and one more attempt (the one that succeeded).
func (s *Store) MarkMessageSent(ctx context.Context, id int64, when time.Time, reply string) error {
	return s.transition(ctx, "mark sent", id, `status = 'sent', sent = $2, reply = $3, attempts = attempts + 1`, when, reply)
}

// RetryMessage records a temporary failure: the message stays (or is put
// back) in the queue until next.
func (s *Store) RetryMessage(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error {
	return s.transition(ctx, "retry", id, `status = 'queued', attempts = $2, next_attempt = $3, last_error = $4`, attempts, next, lastError)
}

// FailMessage records a permanent failure; the message leaves the queue.
func (s *Store) FailMessage(ctx context.Context, id int64, attempts int, lastError string) error {
	return s.transition(ctx, "fail", id, `status = 'failed', attempts = $2, last_error = $3`, attempts, lastError)
}

// GetMessage returns message id with its body.
func (s *Store) GetMessage(ctx context.Context, id int64) (store.OutboxMessage, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageColumns+`, body FROM outbox_messages WHERE id = $1`, id), true)
	return m, notFound(err, fmt.Sprintf("get message %d", id))
}

// ListMessages returns the messages q selects, newest first, without
// their bodies.
func (s *Store) ListMessages(ctx context.Context, q store.MessageQuery) ([]store.OutboxMessage, error) {
	var (
		a     args
		where []string
		evID  int64 // the id of q.EventHash's event
	)
	if q.EventHash != (event.Hash{}) {
		// Its messages are among those of its organisations whose range
		// of events holds it; their lists say which.
		var data []byte
		err := s.pool.QueryRow(ctx, `SELECT id, data FROM events WHERE hash = $1`, q.EventHash[:]).Scan(&evID, &data)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("pgstore: list messages: %w", err)
		}
		e, err := decodeEvent(data)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list messages: event %s: %w", q.EventHash, err)
		}
		orgs := store.EventOrganisations(e)
		if len(orgs) == 0 {
			return nil, nil
		}
		where = append(where, "org = ANY("+a.add(orgs)+") AND last_event >= "+a.add(evID)+" AND first_event <= "+a.add(evID))
	}
	if q.OrgID != 0 {
		where = append(where, "org_id = "+a.add(q.OrgID))
	}
	if q.Status != "" {
		where = append(where, "status = "+a.add(q.Status))
	}
	if q.BeforeID > 0 {
		where = append(where, "id < "+a.add(q.BeforeID))
	}
	query := `SELECT ` + messageColumns + `, event_ids FROM outbox_messages`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC"
	limit := store.MessageLimit(q.Limit)
	if evID == 0 { // otherwise the limit applies after the lists are read
		query += " LIMIT " + a.add(limit)
	}
	rows, err := s.pool.Query(ctx, query, a...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list messages: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxMessage
	for rows.Next() && len(out) < limit {
		var list []byte
		m, err := scanMessage(rows, false, &list)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list messages: %w", err)
		}
		if evID != 0 && !store.EventIDsHave(list, evID) {
			continue
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list messages: %w", err)
	}
	return out, nil
}

var _ store.Notifications = (*Store)(nil)
