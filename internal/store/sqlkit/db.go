package sqlkit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// A Row is one row of a query's answer, as database/sql's *sql.Row and
// pgx's pgx.Row are.
type Row interface {
	Scan(dest ...any) error
}

// A DB is a store's database as the queries written once on the shared
// layer use it, whatever the driver: statements and transactions on the
// writer, single-row queries on the readers. Queries are written with "?"
// placeholders; the DB rebinds them for its dialect.
type DB interface {
	// Dialect is the database's dialect.
	Dialect() Dialect
	// Exec runs a statement and returns how many rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Insert runs an INSERT into a table whose key is an id column and
	// returns the id of the row it made (SQLite's last insert id,
	// PostgreSQL's RETURNING id).
	Insert(ctx context.Context, query string, args ...any) (int64, error)
	// QueryRow runs a query that selects one row.
	QueryRow(ctx context.Context, query string, args ...any) Row
	// Each runs a query and calls fn for every row.
	Each(ctx context.Context, query string, args []any, fn func(Row) error) error
	// Script runs a script of one or more statements as it is written:
	// no parameters, no placeholders rebound (a migration).
	Script(ctx context.Context, script string) error
	// Tx runs fn in a write transaction and commits it when fn returns
	// nil; fn's DB runs everything in the transaction (and has no Tx of
	// its own).
	Tx(ctx context.Context, fn func(DB) error) error
	// Snapshot runs fn in a read-only transaction, so that every query of
	// fn sees the database as it was at one moment: a read transaction on
	// a reader in SQLite (which leaves the writer free), REPEATABLE READ
	// READ ONLY in PostgreSQL. Inside a transaction fn runs on it, whose
	// reads agree already.
	Snapshot(ctx context.Context, fn func(DB) error) error
	// IsForeignKey reports whether err is a foreign key violation.
	IsForeignKey(err error) bool
	// IsUnique reports whether err is a unique (or primary key)
	// violation.
	IsUnique(err error) bool
	// IsNoRows reports whether err says a single-row query selected
	// nothing.
	IsNoRows(err error) bool
}

// ErrNestedTx is what Tx returns inside a transaction.
var ErrNestedTx = errors.New("sqlkit: transaction inside a transaction")

// SQLDB is a DB on database/sql: the SQLite store's, with its one writer
// connection and its pool of readers.
type SQLDB struct {
	Write, Read *sql.DB
	Dial        Dialect
	ForeignKey  func(error) bool
	Unique      func(error) bool
}

// Dialect is the database's dialect.
func (d SQLDB) Dialect() Dialect { return d.Dial }

// Exec runs a statement on the writer.
func (d SQLDB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return affected(d.Write.ExecContext(ctx, d.Dial.Rebind(query), args...))
}

// Insert runs an INSERT on the writer and returns the last insert id.
func (d SQLDB) Insert(ctx context.Context, query string, args ...any) (int64, error) {
	return lastID(d.Write.ExecContext(ctx, d.Dial.Rebind(query), args...))
}

// QueryRow runs a query on the readers.
func (d SQLDB) QueryRow(ctx context.Context, query string, args ...any) Row {
	return d.Read.QueryRowContext(ctx, d.Dial.Rebind(query), args...)
}

// Each runs a query on the readers and calls fn for every row.
func (d SQLDB) Each(ctx context.Context, query string, args []any, fn func(Row) error) error {
	return Each(ctx, d.Read, d.Dial.Rebind(query), args, func(rows *sql.Rows) error { return fn(rows) })
}

// Script runs a script of statements on the writer.
func (d SQLDB) Script(ctx context.Context, script string) error {
	_, err := d.Write.ExecContext(ctx, script)
	return err
}

// Tx runs fn in a transaction on the writer.
func (d SQLDB) Tx(ctx context.Context, fn func(DB) error) error {
	tx, err := d.Write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(newSQLTx(tx, d)); err != nil {
		return err
	}
	return tx.Commit()
}

// Snapshot runs fn in a read transaction on the readers.
func (d SQLDB) Snapshot(ctx context.Context, fn func(DB) error) error {
	tx, err := d.Read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(newSQLTx(tx, d)); err != nil {
		return err
	}
	return tx.Commit()
}

// IsForeignKey reports whether err is a foreign key violation.
func (d SQLDB) IsForeignKey(err error) bool { return d.ForeignKey(err) }

// IsUnique reports whether err is a unique violation.
func (d SQLDB) IsUnique(err error) bool { return d.Unique(err) }

// IsNoRows reports whether err is database/sql's "no rows".
func (d SQLDB) IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// sqlTx is SQLDB inside a transaction. It prepares each statement once
// per transaction (up to maxTxStatements of them) and runs it again from
// there: a transaction that writes many rows with the same few statements
// (a chunk of reports, a batch of alerts) parses each once rather than
// once a row, which in SQLite was a third of such a write's time. The
// statements are closed with the transaction.
type sqlTx struct {
	tx    *sql.Tx
	db    SQLDB
	stmts map[string]*sql.Stmt
}

// maxTxStatements bounds the statements a transaction keeps prepared; a
// query past them runs unprepared, as every query did before.
const maxTxStatements = 64

func newSQLTx(tx *sql.Tx, d SQLDB) sqlTx {
	return sqlTx{tx: tx, db: d, stmts: map[string]*sql.Stmt{}}
}

// stmt returns the transaction's prepared statement of query (rebound),
// nil when it keeps as many as it may already or query cannot be
// prepared (the unprepared run then says why).
func (t sqlTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if s, ok := t.stmts[query]; ok {
		return s
	}
	if len(t.stmts) >= maxTxStatements {
		return nil
	}
	s, err := t.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	t.stmts[query] = s
	return s
}

func (t sqlTx) Dialect() Dialect { return t.db.Dial }

func (t sqlTx) exec(ctx context.Context, query string, args []any) (sql.Result, error) {
	query = t.db.Dial.Rebind(query)
	if s := t.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t sqlTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return affected(t.exec(ctx, query, args))
}

func (t sqlTx) Insert(ctx context.Context, query string, args ...any) (int64, error) {
	return lastID(t.exec(ctx, query, args))
}

func (t sqlTx) QueryRow(ctx context.Context, query string, args ...any) Row {
	query = t.db.Dial.Rebind(query)
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// Each runs unprepared: a SQLite statement runs once at a time, and fn
// may run the same query again while the rows are open.
func (t sqlTx) Each(ctx context.Context, query string, args []any, fn func(Row) error) error {
	return Each(ctx, t.tx, t.db.Dial.Rebind(query), args, func(rows *sql.Rows) error { return fn(rows) })
}

func (t sqlTx) Script(ctx context.Context, script string) error {
	_, err := t.tx.ExecContext(ctx, script)
	return err
}

func (t sqlTx) Tx(context.Context, func(DB) error) error { return ErrNestedTx }

func (t sqlTx) Snapshot(_ context.Context, fn func(DB) error) error { return fn(t) }

func (t sqlTx) IsForeignKey(err error) bool { return t.db.ForeignKey(err) }

func (t sqlTx) IsUnique(err error) bool { return t.db.Unique(err) }

func (t sqlTx) IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func lastID(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// All runs a query on db and collects its rows with scan; no rows is a nil
// slice.
func All[T any](ctx context.Context, db DB, query string, args []any, scan func(Row) (T, error)) ([]T, error) {
	var out []T
	err := db.Each(ctx, query, args, func(row Row) error {
		v, err := scan(row)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Time returns a scan destination that sets *t from a time column of
// either store: Unix microseconds in SQLite, a timestamptz in PostgreSQL,
// always in UTC; NULL is the zero time.
func Time(t *time.Time) sql.Scanner { return timeDest{t} }

type timeDest struct{ t *time.Time }

func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	case time.Time:
		*d.t = v.UTC()
	default:
		return fmt.Errorf("sqlkit: time from %T", src)
	}
	return nil
}
