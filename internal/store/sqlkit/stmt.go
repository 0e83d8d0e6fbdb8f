package sqlkit

import (
	"context"
	"database/sql"
	"sync"
)

// Stmt is a statement prepared once and run many times. Compiling a
// statement costs SQLite about as much as running it for a row, so code
// that runs one statement many times in a transaction, or once per
// organisation in a pass, prepares it. On a DB that does not prepare
// (PostgreSQL through pgx, which prepares and caches every statement it
// runs already) a Stmt runs its query each time.
type Stmt struct {
	db    DB
	query string
	st    *sql.Stmt // nil when db does not prepare
}

// preparer is a DB that prepares statements on a database/sql connection:
// in its transaction, or outside one on the read pool (prepare) or on the
// writer (prepareWrite).
type preparer interface {
	prepare(ctx context.Context, query string) (*sql.Stmt, error)
	prepareWrite(ctx context.Context, query string) (*sql.Stmt, error)
}

// Prepare prepares query on db, in its transaction when db is one.
// Outside a transaction the statement runs on the read pool: it reads.
// Close it when done.
func Prepare(ctx context.Context, db DB, query string) (*Stmt, error) {
	query = db.Dialect().Rebind(query)
	p, ok := db.(preparer)
	if !ok {
		return &Stmt{db: db, query: query}, nil
	}
	st, err := p.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return &Stmt{db: db, query: query, st: st}, nil
}

// prepareWrite prepares a statement that writes: in db's transaction when
// db is one, otherwise on the writer (the read pool of SQLite is
// query_only and refuses it).
func prepareWrite(ctx context.Context, db DB, query string) (*Stmt, error) {
	query = db.Dialect().Rebind(query)
	p, ok := db.(preparer)
	if !ok {
		return &Stmt{db: db, query: query}, nil
	}
	st, err := p.prepareWrite(ctx, query)
	if err != nil {
		return nil, err
	}
	return &Stmt{db: db, query: query, st: st}, nil
}

func (d SQLDB) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	return d.Read.PrepareContext(ctx, query)
}

func (d SQLDB) prepareWrite(ctx context.Context, query string) (*sql.Stmt, error) {
	return d.Write.PrepareContext(ctx, query)
}

func (t sqlTx) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.tx.PrepareContext(ctx, query)
}

func (t sqlTx) prepareWrite(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.tx.PrepareContext(ctx, query)
}

// Exec runs the statement and returns how many rows it changed.
func (s *Stmt) Exec(ctx context.Context, args ...any) (int64, error) {
	if s.st == nil {
		return s.db.Exec(ctx, s.query, args...)
	}
	return affected(s.st.ExecContext(ctx, args...))
}

// Insert runs an INSERT of one row and returns its id (as DB.Insert).
func (s *Stmt) Insert(ctx context.Context, args ...any) (int64, error) {
	if s.st == nil {
		return s.db.Insert(ctx, s.query, args...)
	}
	return lastID(s.st.ExecContext(ctx, args...))
}

// QueryRow runs a query of at most one row.
func (s *Stmt) QueryRow(ctx context.Context, args ...any) Row {
	if s.st == nil {
		return s.db.QueryRow(ctx, s.query, args...)
	}
	return s.st.QueryRowContext(ctx, args...)
}

// Each runs a query and calls fn for each row.
func (s *Stmt) Each(ctx context.Context, args []any, fn func(Row) error) error {
	if s.st == nil {
		return s.db.Each(ctx, s.query, args, fn)
	}
	rows, err := s.st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Close releases the statement.
func (s *Stmt) Close() error {
	if s.st == nil {
		return nil
	}
	return s.st.Close()
}

// Stmts keeps statements prepared on one DB (not a transaction) for as
// long as it is used: the reads run once per organisation in a notifier
// pass. It is safe for concurrent use; its statements are never closed,
// and go with the database's connections.
type Stmts struct {
	db DB
	m  sync.Map // query → *Stmt
}

// NewStmts returns a cache of statements prepared on db.
func NewStmts(db DB) *Stmts { return &Stmts{db: db} }

// Get returns query prepared, preparing it on first use.
func (c *Stmts) Get(ctx context.Context, query string) (*Stmt, error) {
	if st, ok := c.m.Load(query); ok {
		return st.(*Stmt), nil
	}
	st, err := Prepare(ctx, c.db, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*Stmt), nil
	}
	return st, nil
}
