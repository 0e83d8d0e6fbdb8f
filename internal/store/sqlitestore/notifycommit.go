package sqlitestore

// CommitNotifications: a notifier pass's messages, sets, tallies and
// consumed queue entries, written in one transaction.

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/store"
)

// rowsPerStatement is how many rows one INSERT or DELETE of
// CommitNotifications carries, and parametersPerStatement bounds its
// parameters (SQLite allows 32766). Compiling a statement costs as much as
// running it for many rows, so a commit binds many rows a statement and
// compiles the statement of a full chunk once (multiRow).
const (
	rowsPerStatement       = 500
	parametersPerStatement = 1000
)

// valueRows returns n rows of columns placeholders: "(?, ?), (?, ?)".
func valueRows(columns, n int) string {
	row := "(?" + strings.Repeat(", ?", columns-1) + ")"
	return row + strings.Repeat(", "+row, n-1)
}

// multiRow runs statement(k) for n rows in chunks of k rows, k at most
// rowsPerStatement and columns*k at most parametersPerStatement; args
// appends the parameters of row i. The statement of a full chunk is
// prepared once and reused, only a short last chunk compiles its own.
func multiRow(ctx context.Context, tx *sql.Tx, n, columns int, statement func(rows int) string, args func(dst []any, i int) []any) error {
	per := min(rowsPerStatement, parametersPerStatement/columns)
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	buf := make([]any, 0, per*columns)
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		buf = buf[:0]
		for i := start; i < end; i++ {
			buf = args(buf, i)
		}
		var err error
		if end-start < per {
			_, err = tx.ExecContext(ctx, statement(end-start), buf...)
		} else {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, statement(per)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, buf...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// commitStatements are the statements CommitNotifications runs once per
// organisation, prepared once per commit.
type commitStatements struct {
	countRange, deleteRange, delete *sql.Stmt
}

func (c *commitStatements) prepare(ctx context.Context, tx *sql.Tx) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&c.countRange, `SELECT count(*) FROM notify_queue WHERE org = ? AND event_id BETWEEN ? AND ?`},
		{&c.deleteRange, `DELETE FROM notify_queue WHERE org = ? AND event_id BETWEEN ? AND ?`},
		{&c.delete, `DELETE FROM notify_queue WHERE org = ? AND event_id IN (SELECT value FROM json_each(?))`},
	} {
		st, err := tx.PrepareContext(ctx, p.query)
		if err != nil {
			return err
		}
		*p.dst = st
	}
	return nil
}

func (c *commitStatements) close() {
	for _, st := range []*sql.Stmt{c.countRange, c.deleteRange, c.delete} {
		if st != nil {
			st.Close()
		}
	}
}

// consume removes org's consumed queue entries: one range when they are
// all its entries between the first and the last (the usual case, a
// digest), else one by one.
func (c *commitStatements) consume(ctx context.Context, org string, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	seqs = slices.Compact(slices.Sorted(slices.Values(seqs)))
	lo, hi := seqs[0], seqs[len(seqs)-1]
	var n int
	if err := c.countRange.QueryRowContext(ctx, org, lo, hi).Scan(&n); err != nil {
		return err
	}
	if n == len(seqs) {
		_, err := c.deleteRange.ExecContext(ctx, org, lo, hi)
		return err
	}
	_, err := c.delete.ExecContext(ctx, org, int64List(seqs))
	return err
}

// tell stores the newly told keys, one set per organisation, all under one
// new set id.
func tell(ctx context.Context, tx *sql.Tx, keys []store.NotifiedKey) error {
	if len(keys) == 0 {
		return nil
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM notified_sets`).Scan(&id); err != nil {
		return err
	}
	orgs, sets, expires := store.ToldSetsByOrg(keys)
	return multiRow(ctx, tx, len(orgs), 4, func(n int) string {
		return `INSERT INTO notified_sets (org, id, expires, keys) VALUES ` + valueRows(4, n)
	}, func(dst []any, i int) []any {
		return append(dst, orgs[i], id, expires[i].UnixMicro(), sets[i])
	})
}

// writeTallies replaces the tallies of the organisations in tallies; an
// empty list removes one.
func writeTallies(ctx context.Context, tx *sql.Tx, tallies map[string][]store.NotifiedKey) error {
	for _, org := range slices.Sorted(maps.Keys(tallies)) {
		var err error
		if list := tallies[org]; len(list) == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM notify_tallies WHERE org = ?`, org)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO notify_tallies (org, tally) VALUES (?, ?)
				ON CONFLICT (org) DO UPDATE SET tally = excluded.tally`, org, store.EncodeTally(list))
		}
		if err != nil {
			return fmt.Errorf("tally of %s: %w", org, err)
		}
	}
	return nil
}

const insertMessageSQL = `INSERT INTO outbox_messages (org_id, org, kind, sender, recipients, subject, message_id,
	body, size, events, encrypted, status, attempts, next_attempt, last_error, reply, created, sent,
	first_event, last_event, event_ids)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// int64List is list as a JSON array, for json_each.
func int64List(list []int64) string {
	b := make([]byte, 0, len(list)*8+2)
	b = append(b, '[')
	for i, v := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return string(append(b, ']'))
}

// CommitNotifications stores one pass of the notifier in one transaction:
// the messages (with the events they report), the keys told, the tallies,
// the state, and the removal of the consumed pending notifications. It
// sets the messages' IDs, and fills in their Size, a zero Status (queued),
// Created (now) and NextAttempt (Created: due at once). On error nothing
// is stored and c is unchanged.
func (s *Store) CommitNotifications(ctx context.Context, c *store.NotificationCommit) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: %w", err)
	}
	defer tx.Rollback()
	messages := make([]store.OutboxMessage, len(c.Messages))
	copy(messages, c.Messages)
	at := store.RecordTime()
	if len(messages) > 0 {
		insert, err := tx.PrepareContext(ctx, insertMessageSQL)
		if err != nil {
			return fmt.Errorf("sqlitestore: commit notifications: %w", err)
		}
		defer insert.Close()
		for i := range messages {
			m := &messages[i]
			store.PrepareMessage(m, at)
			recipients, err := jsonList(m.Recipients)
			if err != nil {
				return fmt.Errorf("sqlitestore: commit notifications: message %d: %w", i+1, err)
			}
			body := m.Body
			if body == nil {
				body = []byte{}
			}
			list, first, last := store.EncodeEventIDs(m.EventIDs)
			res, err := insert.ExecContext(ctx, m.OrgID, m.Org, m.Kind, m.Sender, recipients, m.Subject, nullText(m.MessageID),
				body, m.Size, m.Events, m.Encrypted, m.Status, m.Attempts, m.NextAttempt.UnixMicro(), m.LastError, m.Reply,
				m.Created.UnixMicro(), micros(m.Sent), nullInt(first), nullInt(last), list)
			if isUnique(err) {
				return fmt.Errorf("sqlitestore: commit notifications: message %d: Message-ID %s: %w", i+1, m.MessageID, store.ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("sqlitestore: commit notifications: message %d: %w", i+1, err)
			}
			if m.ID, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("sqlitestore: commit notifications: message %d: %w", i+1, err)
			}
		}
	}
	var st commitStatements
	defer st.close()
	if err := st.prepare(ctx, tx); err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: %w", err)
	}
	if err := tell(ctx, tx, c.Told); err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: keys: %w", err)
	}
	if err := writeTallies(ctx, tx, c.Repeats); err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: %w", err)
	}
	if len(c.State) > 0 {
		keys := slices.Sorted(maps.Keys(c.State))
		err = multiRow(ctx, tx, len(keys), 2, func(n int) string {
			return `INSERT INTO state (key, value) VALUES ` + valueRows(2, n) + `
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`
		}, func(dst []any, i int) []any {
			v := c.State[keys[i]]
			if v == nil {
				v = []byte{}
			}
			return append(dst, keys[i], v)
		})
		if err != nil {
			return fmt.Errorf("sqlitestore: commit notifications: state: %w", err)
		}
	}
	for _, org := range slices.Sorted(maps.Keys(c.Done)) {
		if err := st.consume(ctx, org, c.Done[org]); err != nil {
			return fmt.Errorf("sqlitestore: commit notifications: consume pending of %s: %w", org, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: %w", err)
	}
	copy(c.Messages, messages)
	return nil
}
