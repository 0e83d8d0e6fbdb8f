// Package mailindb keeps the mail spool (internal/mailin) in a table of
// its own schema (Schema), created and migrated with the database. Its
// queries are written once on the shared SQL layer (sqlkit) and run on
// SQLite and PostgreSQL alike, which the contract tests (mailintest)
// check. The writes are also package functions on a sqlkit.DB (Put,
// MarkDone, MarkFailed), so that a caller runs them in a transaction of
// its own: the step that turns a message into a report marks it done in
// the report's commit.
package mailindb

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the spool's table; it refers to no other.
var Schema = sqlkit.Schema{Name: "mailin", FS: migrations}

// Store keeps the spool on a database. It is safe for concurrent use.
type Store struct {
	db sqlkit.DB
}

// New returns the spool kept on db, which Schema has migrated.
func New(db sqlkit.DB) *Store { return &Store{db: db} }

var _ mailin.Mails = (*Store)(nil)

// PutMail writes mails in one transaction (see Put).
func (st *Store) PutMail(ctx context.Context, mails []*mailin.Mail) error {
	err := st.db.Tx(ctx, func(tx sqlkit.DB) error { return Put(ctx, tx, mails) })
	if err != nil {
		for _, m := range mails {
			m.ID = 0
		}
		return fmt.Errorf("put mail: %w", err)
	}
	return nil
}

// Put writes mails on db (a transaction, for a group commit to be one)
// as pending and sets their IDs. The statement is prepared once for the
// batch: compiling it costs SQLite as much as running it.
func Put(ctx context.Context, db sqlkit.DB, mails []*mailin.Mail) error {
	if len(mails) == 0 {
		return nil
	}
	st, err := sqlkit.Prepare(ctx, db, `INSERT INTO mail_spool (received, mail_from, rcpt_to, client, helo, tls, size, sha256, raw, state)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`)
	if err != nil {
		return err
	}
	defer st.Close()
	d := db.Dialect()
	for _, m := range mails {
		to, err := d.List(m.To)
		if err != nil {
			return err
		}
		id, err := st.Insert(ctx, d.Time(m.Received), m.From, to, m.Client, m.Helo, m.TLS, m.Size, m.SHA256, m.Raw)
		if err != nil {
			return err
		}
		m.ID, m.State = id, mailin.Pending
	}
	return nil
}

// columns are a spooled message's columns, raw last.
const columns = `id, received, mail_from, rcpt_to, client, helo, tls, size, sha256, state, reason, finished, raw FROM mail_spool`

func scanner(d sqlkit.Dialect) func(row sqlkit.Row) (mailin.Mail, error) {
	return func(row sqlkit.Row) (mailin.Mail, error) {
		var m mailin.Mail
		err := row.Scan(&m.ID, sqlkit.Time(&m.Received), &m.From, d.ListDest(&m.To), &m.Client, &m.Helo, &m.TLS,
			&m.Size, &m.SHA256, &m.State, &m.Reason, sqlkit.Time(&m.Finished), &m.Raw)
		return m, err
	}
}

// PendingMail returns up to limit pending messages, oldest first.
func (st *Store) PendingMail(ctx context.Context, limit int) ([]mailin.Mail, error) {
	out, err := sqlkit.All(ctx, st.db, `SELECT `+columns+` WHERE state = 'pending' ORDER BY id LIMIT ?`,
		[]any{limit}, scanner(st.db.Dialect()))
	if err != nil {
		return nil, fmt.Errorf("pending mail: %w", err)
	}
	return out, nil
}

// EachMail calls fn with every message in state, in the order they were
// received, one row at a time (a spool of large messages is never read
// into memory whole).
func (st *Store) EachMail(ctx context.Context, state mailin.State, fn func(mailin.Mail) error) error {
	scan := scanner(st.db.Dialect())
	err := st.db.Each(ctx, `SELECT `+columns+` WHERE state = ? ORDER BY id`, []any{string(state)}, func(row sqlkit.Row) error {
		m, err := scan(row)
		if err != nil {
			return err
		}
		return fn(m)
	})
	if err != nil {
		return fmt.Errorf("each mail: %w", err)
	}
	return nil
}

// GetMail returns one message; store.ErrNotFound when there is none.
func (st *Store) GetMail(ctx context.Context, id int64) (mailin.Mail, error) {
	m, err := scanner(st.db.Dialect())(st.db.QueryRow(ctx, `SELECT `+columns+` WHERE id = ?`, id))
	return m, store.NotFound(err, fmt.Sprintf("get mail %d", id))
}

// MarkMailDone marks pending messages done (see MarkDone).
func (st *Store) MarkMailDone(ctx context.Context, now time.Time, ids ...int64) error {
	return st.db.Tx(ctx, func(tx sqlkit.DB) error { return MarkDone(ctx, tx, now, ids...) })
}

// MarkDone marks pending messages done at now on db, the caller's
// transaction. When one of them is not pending (handled already, or
// none) it returns an error wrapping store.ErrNotFound, and the caller's
// transaction is to be rolled back: two workers never both turn a
// message into a report.
func MarkDone(ctx context.Context, db sqlkit.DB, now time.Time, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	a := db.Dialect().Args()
	at := a.AddTime(now.UTC())
	n, err := db.Exec(ctx, `UPDATE mail_spool SET state = 'done', finished = `+at+
		` WHERE state = 'pending' AND `+sqlkit.In(a, "id", ids), a.List()...)
	switch {
	case err != nil:
		return fmt.Errorf("mark mail done: %w", err)
	case n != int64(len(ids)):
		return fmt.Errorf("mark mail done: %d of %d messages not pending: %w", int64(len(ids))-n, len(ids), store.ErrNotFound)
	}
	return nil
}

// MarkMailFailed marks a pending message failed (see MarkFailed).
func (st *Store) MarkMailFailed(ctx context.Context, now time.Time, id int64, reason string) error {
	return MarkFailed(ctx, st.db, now, id, reason)
}

// MarkFailed marks a pending message failed at now with reason, on db
// (the caller's transaction, or the database); store.ErrNotFound when it
// is not pending.
func MarkFailed(ctx context.Context, db sqlkit.DB, now time.Time, id int64, reason string) error {
	n, err := db.Exec(ctx, `UPDATE mail_spool SET state = 'failed', reason = ?, finished = ? WHERE id = ? AND state = 'pending'`,
		reason, db.Dialect().Time(now.UTC()), id)
	switch {
	case err != nil:
		return fmt.Errorf("mark mail %d failed: %w", id, err)
	case n == 0:
		return fmt.Errorf("mark mail %d failed: not pending: %w", id, store.ErrNotFound)
	}
	return nil
}

// PurgeMail deletes the messages marked done before before.
func (st *Store) PurgeMail(ctx context.Context, before time.Time) (int64, error) {
	n, err := st.db.Exec(ctx, `DELETE FROM mail_spool WHERE state = 'done' AND finished < ?`, st.db.Dialect().Time(before.UTC()))
	if err != nil {
		return 0, fmt.Errorf("purge mail: %w", err)
	}
	return n, nil
}

// CountMail counts the messages in each state.
func (st *Store) CountMail(ctx context.Context) (map[mailin.State]int64, error) {
	out := map[mailin.State]int64{mailin.Pending: 0, mailin.Done: 0, mailin.Failed: 0}
	err := st.db.Each(ctx, `SELECT state, count(*) FROM mail_spool GROUP BY state`, nil, func(row sqlkit.Row) error {
		var s mailin.State
		var n int64
		if err := row.Scan(&s, &n); err != nil {
			return err
		}
		out[s] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count mail: %w", err)
	}
	return out, nil
}
