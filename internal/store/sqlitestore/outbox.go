package sqlitestore

// The outbox of notification messages: queued, sent, retried, failed.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// scanMessage reads messageColumns, followed by the body when withBody,
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

// DueMessages returns queued messages whose NextAttempt is not after now,
// oldest first, with their bodies; limit as MessageQuery.Limit.
func (s *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]store.OutboxMessage, error) {
	out, err := sqlkit.Query(ctx, s.read, `SELECT `+messageColumns+`, body FROM outbox_messages
		WHERE status = 'queued' AND next_attempt <= ? ORDER BY id LIMIT ?`, []any{now.UnixMicro(), store.MessageLimit(limit)},
		func(rows *sql.Rows) (store.OutboxMessage, error) { return scanMessage(rows, true) })
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: due messages: %w", err)
	}
	return out, nil
}

// transition changes a message's delivery state. A sent message is never
// changed again (so it cannot be sent twice): ErrConflict; ErrNotFound
// when there is no message id.
func (s *Store) transition(ctx context.Context, what string, id int64, set string, args ...any) error {
	res, err := s.write.ExecContext(ctx, `UPDATE outbox_messages SET `+set+` WHERE id = ? AND status <> 'sent'`, append(args, id)...)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s message %d: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlitestore: %s message %d: %w", what, id, err)
	}
	if n == 1 {
		return nil
	}
	var status string
	err = s.write.QueryRowContext(ctx, `SELECT status FROM outbox_messages WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: %s message %d: %w", what, id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: %s message %d: %w", what, id, err)
	}
	return fmt.Errorf("sqlitestore: %s message %d: it was %s already: %w", what, id, status, store.ErrConflict)
}

// MarkMessageSent records the delivery of message id: status sent, when,
// the server's reply, and one more attempt (the one that succeeded).
func (s *Store) MarkMessageSent(ctx context.Context, id int64, when time.Time, reply string) error {
	return s.transition(ctx, "mark sent", id, `status = 'sent', sent = ?, reply = ?, attempts = attempts + 1`, when.UnixMicro(), reply)
}

// RetryMessage records a temporary failure: the message stays (or is put
// back) in the queue until next.
func (s *Store) RetryMessage(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error {
	return s.transition(ctx, "retry", id, `status = 'queued', attempts = ?, next_attempt = ?, last_error = ?`, attempts, next.UnixMicro(), lastError)
}

// FailMessage records a permanent failure; the message leaves the queue.
func (s *Store) FailMessage(ctx context.Context, id int64, attempts int, lastError string) error {
	return s.transition(ctx, "fail", id, `status = 'failed', attempts = ?, last_error = ?`, attempts, lastError)
}

// GetMessage returns message id with its body.
func (s *Store) GetMessage(ctx context.Context, id int64) (store.OutboxMessage, error) {
	m, err := scanMessage(s.read.QueryRowContext(ctx, `SELECT `+messageColumns+`, body FROM outbox_messages WHERE id = ?`, id), true)
	return m, notFound(err, fmt.Sprintf("get message %d", id))
}

// ListMessages returns the messages q selects, newest first, without
// their bodies.
func (s *Store) ListMessages(ctx context.Context, q store.MessageQuery) ([]store.OutboxMessage, error) {
	var (
		where []string
		args  []any
		evID  int64 // the id of q.EventHash's event
	)
	if q.EventHash != (event.Hash{}) {
		// Its messages are among those of its organisations whose range
		// of events holds it; their lists say which.
		var data []byte
		err := s.read.QueryRowContext(ctx, `SELECT id, data FROM events WHERE hash = ?`, q.EventHash[:]).Scan(&evID, &data)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list messages: %w", err)
		}
		e, err := decodeEvent(data)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list messages: event %s: %w", q.EventHash, err)
		}
		orgs := store.EventOrganisations(e)
		if len(orgs) == 0 {
			return nil, nil
		}
		where = append(where, "org IN (?"+strings.Repeat(", ?", len(orgs)-1)+") AND last_event >= ? AND first_event <= ?")
		for _, o := range orgs {
			args = append(args, o)
		}
		args = append(args, evID, evID)
	}
	if q.OrgID != 0 {
		where = append(where, "org_id = ?")
		args = append(args, q.OrgID)
	}
	if q.Status != "" {
		where = append(where, "status = ?")
		args = append(args, q.Status)
	}
	if q.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, q.BeforeID)
	}
	query := `SELECT ` + messageColumns + `, event_ids FROM outbox_messages`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC"
	limit := store.MessageLimit(q.Limit)
	if evID == 0 { // otherwise the limit applies after the lists are read
		query += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list messages: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxMessage
	for rows.Next() && len(out) < limit {
		var list []byte
		m, err := scanMessage(rows, false, &list)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list messages: %w", err)
		}
		if evID != 0 && !store.EventIDsHave(list, evID) {
			continue
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list messages: %w", err)
	}
	return out, nil
}

var _ store.Notifications = (*Store)(nil)
