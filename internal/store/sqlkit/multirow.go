package sqlkit

import (
	"context"
	"strings"
)

// RowsPerStatement is how many rows one statement of MultiRow carries at
// most, and ParametersPerStatement bounds its parameters (SQLite allows
// 32766, PostgreSQL 65535). Compiling a statement costs SQLite as much as
// running it for many rows, so writing many rows binds many a statement
// and compiles the statement of a full chunk once.
const (
	RowsPerStatement       = 500
	ParametersPerStatement = 1000
)

// ValueRows returns n rows of columns placeholders: "(?, ?), (?, ?)".
func ValueRows(columns, n int) string {
	row := "(?" + strings.Repeat(", ?", columns-1) + ")"
	return row + strings.Repeat(", "+row, n-1)
}

// MultiRow runs statement(k) on db for n rows in chunks of k rows, k at
// most RowsPerStatement and columns*k at most ParametersPerStatement;
// args appends the parameters of row i. The statement of a full chunk is
// prepared once and reused (in db's transaction when db is one, otherwise
// on the writer), only a short last chunk compiles its own.
func MultiRow(ctx context.Context, db DB, n, columns int, statement func(rows int) string, args func(dst []any, i int) []any) error {
	per := min(RowsPerStatement, ParametersPerStatement/columns)
	var full *Stmt
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
			_, err = db.Exec(ctx, statement(end-start), buf...)
		} else {
			if full == nil {
				if full, err = prepareWrite(ctx, db, statement(per)); err != nil {
					return err
				}
			}
			_, err = full.Exec(ctx, buf...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
