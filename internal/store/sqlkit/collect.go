package sqlkit

import (
	"context"
	"database/sql"
)

// A Queryer runs a query on database/sql: *sql.DB, *sql.Tx and *sql.Conn
// are Queryers.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Collect reads every row of rows with scan and closes rows; it is the
// database/sql counterpart of pgx.CollectRows. No rows is a nil slice, as
// an append loop gives.
func Collect[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Query runs query with args on q and collects its rows with scan.
func Query[T any](ctx context.Context, q Queryer, query string, args []any, scan func(*sql.Rows) (T, error)) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return Collect(rows, scan)
}

// RowTo scans a row of one column into a T, like pgx.RowTo.
func RowTo[T any](rows *sql.Rows) (T, error) {
	var v T
	err := rows.Scan(&v)
	return v, err
}

// Each runs query with args on q and calls fn for every row, the
// database/sql counterpart of pgx.ForEachRow for rows that do not become a
// slice (a map, a callback).
func Each(ctx context.Context, q Queryer, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
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
