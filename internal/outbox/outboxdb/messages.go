package outboxdb

// The outbox's messages: delivered, retried, failed, read.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// DueMessages returns queued messages whose NextAttempt is not after now,
// oldest first, with their bodies; limit as MessageQuery.Limit. A message
// whose stored body cannot be read back (outbox.ErrBadBody) is failed
// with the reason and left out, so that one damaged row does not stop
// the outbox.
func (s *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]outbox.Message, error) {
	d := s.db.Dialect()
	var (
		out     []outbox.Message
		bad     []outbox.Message
		reasons []string
	)
	err := s.db.Each(ctx, s.q.due, s.q.dueArgs(now, limit), func(row sqlkit.Row) error {
		m, err := scanMessage(d, row, true)
		switch {
		case errors.Is(err, outbox.ErrBadBody):
			bad, reasons = append(bad, m), append(reasons, err.Error())
		case err != nil:
			return err
		default:
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outboxdb: due messages: %w", err)
	}
	for i, m := range bad {
		if err := s.FailMessage(ctx, m.ID, m.Attempts, reasons[i]); err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("outboxdb: fail message %d with a damaged body: %w", m.ID, err)
		}
	}
	return out, nil
}

// transition applies change c to message id. A sent message is never
// changed again (so it cannot be sent twice): ErrConflict; ErrNotFound
// when there is no message id.
//
// The dialects take different strategies. PostgreSQL, with several
// workers on one database, updates and reads the old status in one
// statement that locks the row, so the answer cannot be about another
// worker's change made in between. SQLite has neither FOR UPDATE nor an
// UPDATE inside WITH, and its one writer connection serialises the
// writes: it updates, and reads the status only when the update did not
// apply, in the same transaction.
func (s *Store) transition(ctx context.Context, c change, id int64) error {
	var (
		status  string
		changed bool
		err     error
	)
	if s.db.Dialect() == sqlkit.Postgres {
		// The status the row had before the update, or the status it has
		// when the update did not apply; no row at all when there is none.
		a := sqlkit.Postgres.Args()
		idParam := a.Add(id)
		err = s.db.QueryRow(ctx, `WITH old AS (SELECT status FROM outbox_messages WHERE id = `+idParam+` FOR UPDATE),
			upd AS (UPDATE outbox_messages SET `+c.set(a)+` WHERE id = `+idParam+` AND status <> 'sent' RETURNING id)
			SELECT old.status, EXISTS (SELECT 1 FROM upd) FROM old`, a.List()...).Scan(&status, &changed)
	} else {
		err = s.db.Tx(ctx, func(tx sqlkit.DB) error {
			a := tx.Dialect().Args()
			query := `UPDATE outbox_messages SET ` + c.set(a) + ` WHERE id = ` + a.Add(id) + ` AND status <> 'sent'`
			n, err := tx.Exec(ctx, query, a.List()...)
			if err != nil || n == 1 {
				changed = true
				return err
			}
			return tx.QueryRow(ctx, s.q.status, id).Scan(&status)
		})
	}
	switch {
	case s.db.IsNoRows(err):
		return fmt.Errorf("outboxdb: %s message %d: %w", c.what, id, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("outboxdb: %s message %d: %w", c.what, id, err)
	case !changed:
		return fmt.Errorf("outboxdb: %s message %d: it was %s already: %w", c.what, id, status, store.ErrConflict)
	}
	return nil
}

// MarkMessageSent records the delivery of message id: status sent, when,
// the server's reply, and one more attempt (the one that succeeded).
func (s *Store) MarkMessageSent(ctx context.Context, id int64, when time.Time, reply string) error {
	return s.transition(ctx, sent(when, reply), id)
}

// RetryMessage records a temporary failure: the message stays (or is put
// back) in the queue until next.
func (s *Store) RetryMessage(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error {
	return s.transition(ctx, retry(attempts, next, lastError), id)
}

// FailMessage records a permanent failure; the message leaves the queue.
func (s *Store) FailMessage(ctx context.Context, id int64, attempts int, lastError string) error {
	return s.transition(ctx, fail(attempts, lastError), id)
}

// GetMessage returns message id with its body.
func (s *Store) GetMessage(ctx context.Context, id int64) (outbox.Message, error) {
	m, err := scanMessage(s.db.Dialect(), s.db.QueryRow(ctx, s.q.get, id), true)
	if s.db.IsNoRows(err) {
		return m, fmt.Errorf("outboxdb: get message %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("outboxdb: get message %d: %w", id, err)
	}
	return m, nil
}

// errPageFull stops reading rows once a page of messages is full.
var errPageFull = errors.New("outboxdb: page full")

// ListMessages returns the messages mq selects, newest first, without
// their bodies. The messages of an event are found among those of its
// organisations whose range of events holds it, their lists of events
// saying which; the event's id and organisations are the event store's
// (store.EventLookup).
func (s *Store) ListMessages(ctx context.Context, mq outbox.MessageQuery) ([]outbox.Message, error) {
	out, err := s.listMessages(ctx, mq)
	if err != nil {
		return nil, fmt.Errorf("outboxdb: list messages: %w", err)
	}
	return out, nil
}

func (s *Store) listMessages(ctx context.Context, mq outbox.MessageQuery) ([]outbox.Message, error) {
	var (
		orgs []string
		evID int64 // the id of mq.EventHash's event
	)
	if mq.EventHash != (event.Hash{}) {
		ids, err := s.events.EventIDs(ctx, []event.Hash{mq.EventHash})
		if err != nil {
			return nil, err
		}
		var ok bool
		if evID, ok = ids[mq.EventHash]; !ok {
			return nil, nil
		}
		se, err := s.events.GetEvent(ctx, mq.EventHash)
		if errors.Is(err, store.ErrNotFound) {
			// Removed since its id was read: no messages of it to find.
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if orgs = store.EventOrganisations(se.Event); len(orgs) == 0 {
			return nil, nil
		}
	}
	query, args := s.q.list(mq, orgs, evID)
	limit := outbox.MessageLimit(mq.Limit)
	d := s.db.Dialect()
	var out []outbox.Message
	err := s.db.Each(ctx, query, args, func(row sqlkit.Row) error {
		var list []byte
		m, err := scanMessage(d, row, false, &list)
		if err != nil {
			return err
		}
		if evID != 0 && !eventIDsHave(list, evID) {
			return nil
		}
		out = append(out, m)
		if len(out) >= limit {
			return errPageFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		return nil, err
	}
	return out, nil
}
