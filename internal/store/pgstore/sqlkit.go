package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// pgDB is the store as a sqlkit.DB, for the queries written once on the
// shared layer: pgx runs them on the pool, or in a transaction.
type pgDB struct {
	pool *pgxpool.Pool
	tx   pgx.Tx // nil outside a transaction
}

// DB returns the store as a sqlkit.DB.
func (s *Store) DB() sqlkit.DB { return pgDB{pool: s.pool} }

func (d pgDB) Dialect() sqlkit.Dialect { return sqlkit.Postgres }

func (d pgDB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	query = sqlkit.Postgres.Rebind(query)
	if d.tx != nil {
		tag, err := d.tx.Exec(ctx, query, args...)
		return tag.RowsAffected(), err
	}
	tag, err := d.pool.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (d pgDB) Insert(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	err := d.QueryRow(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, err
}

func (d pgDB) QueryRow(ctx context.Context, query string, args ...any) sqlkit.Row {
	query = sqlkit.Postgres.Rebind(query)
	if d.tx != nil {
		return d.tx.QueryRow(ctx, query, args...)
	}
	return d.pool.QueryRow(ctx, query, args...)
}

func (d pgDB) Each(ctx context.Context, query string, args []any, fn func(sqlkit.Row) error) error {
	query = sqlkit.Postgres.Rebind(query)
	var (
		rows pgx.Rows
		err  error
	)
	if d.tx != nil {
		rows, err = d.tx.Query(ctx, query, args...)
	} else {
		rows, err = d.pool.Query(ctx, query, args...)
	}
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

// Script runs a script without arguments, which pgx sends with the simple
// protocol: several statements in one go.
func (d pgDB) Script(ctx context.Context, script string) error {
	var err error
	if d.tx != nil {
		_, err = d.tx.Exec(ctx, script)
	} else {
		_, err = d.pool.Exec(ctx, script)
	}
	return err
}

func (d pgDB) Tx(ctx context.Context, fn func(sqlkit.DB) error) error {
	if d.tx != nil {
		return sqlkit.ErrNestedTx
	}
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := fn(pgDB{pool: d.pool, tx: tx}); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// snapshot is the transaction of reads that must agree with each other.
var snapshot = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

func (d pgDB) Snapshot(ctx context.Context, fn func(sqlkit.DB) error) error {
	if d.tx != nil {
		return fn(d)
	}
	return pgx.BeginTxFunc(ctx, d.pool, snapshot, func(tx pgx.Tx) error {
		return fn(pgDB{pool: d.pool, tx: tx})
	})
}

func (d pgDB) IsForeignKey(err error) bool { return isForeignKey(err) }

func (d pgDB) IsUnique(err error) bool { return isUnique(err) }

func (d pgDB) IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// named prefixes an error of the shared layer with the store's name.
func named(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("pgstore: %w", err)
}
