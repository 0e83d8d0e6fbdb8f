package sqlitestore

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/notify/notifydb"
	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
)

// TestSchemaEquivalence checks that a new database, made from the
// baseline script and the capabilities' schemas, has the tables, columns,
// indexes and keys of a database of an earlier release brought up through
// migrations 0001 to 0007, whose tables the capabilities' first
// migrations then adopt.
func TestSchemaEquivalence(t *testing.T) {
	ctx := t.Context()
	fresh := openTemp(t, Options{})
	if err := fresh.Migrate(ctx, constituencydb.Schema, authdb.Schema, outboxdb.Schema, notifydb.Schema, told.Schema); err != nil {
		t.Fatalf("new database: %v", err)
	}
	upgraded := openTemp(t, Options{})
	if err := upgraded.migrateTo(ctx, 1); err != nil {
		t.Fatalf("database of the first release: %v", err)
	}
	if err := upgraded.Migrate(ctx, constituencydb.Schema, authdb.Schema, outboxdb.Schema, notifydb.Schema, told.Schema); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	want, got := describeSchema(t, upgraded.read), describeSchema(t, fresh.read)
	if len(want) < 40 {
		t.Fatalf("the upgraded schema has %d facts; the description reads nothing", len(want))
	}
	for _, f := range want {
		if !slices.Contains(got, f) {
			t.Errorf("upgraded database has, new database lacks: %s", f)
		}
	}
	for _, f := range got {
		if !slices.Contains(want, f) {
			t.Errorf("new database has, upgraded database lacks: %s", f)
		}
	}
}

// describeSchema lists what makes up the schema, one fact a line, sorted:
// each table's columns (with type, NOT NULL, default and key), its indexes
// (their columns, uniqueness and condition), foreign keys, and whether it
// is WITHOUT ROWID or AUTOINCREMENT; and the rows of constituency_version.
func describeSchema(t *testing.T, db *sql.DB) []string {
	t.Helper()
	ctx := t.Context()
	var facts []string
	add := func(format string, args ...any) { facts = append(facts, fmt.Sprintf(format, args...)) }
	tables := map[string]string{}
	rows, err := db.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name, text string
		if err := rows.Scan(&name, &text); err != nil {
			t.Fatal(err)
		}
		tables[name] = text
	}
	rows.Close()
	for name, text := range tables {
		add("table %s without-rowid=%v autoincrement=%v", name, strings.Contains(text, "WITHOUT ROWID"), strings.Contains(text, "AUTOINCREMENT"))
		each(t, db, `SELECT cid, name, type, "notnull", coalesce(dflt_value, ''), pk FROM pragma_table_info(?)`, []any{name}, func(r *sql.Rows) error {
			var (
				cid, notnull, pk int
				col, typ, dflt   string
			)
			if err := r.Scan(&cid, &col, &typ, &notnull, &dflt, &pk); err != nil {
				return err
			}
			add("column %s.%s #%d %s notnull=%d default=%q pk=%d", name, col, cid, typ, notnull, dflt, pk)
			return nil
		})
		each(t, db, `SELECT "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list(?)`, []any{name}, func(r *sql.Rows) error {
			var to, from, col, upd, del string
			if err := r.Scan(&to, &from, &col, &upd, &del); err != nil {
				return err
			}
			add("foreign key %s.%s -> %s(%s) update %s delete %s", name, from, to, col, upd, del)
			return nil
		})
		each(t, db, `SELECT name, "unique", origin, partial FROM pragma_index_list(?)`, []any{name}, func(r *sql.Rows) error {
			var (
				index, origin   string
				unique, partial int
			)
			if err := r.Scan(&index, &unique, &origin, &partial); err != nil {
				return err
			}
			var cols []string
			each(t, db, `SELECT coalesce(name, '') FROM pragma_index_info(?) ORDER BY seqno`, []any{index}, func(r *sql.Rows) error {
				var c string
				err := r.Scan(&c)
				cols = append(cols, c)
				return err
			})
			var where string
			if partial == 1 {
				var text string
				if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = ?`, index).Scan(&text); err != nil {
					return err
				}
				_, where, _ = strings.Cut(strings.Join(strings.Fields(text), " "), " WHERE ")
			}
			if origin != "c" {
				index = "(automatic)" // SQLite names these by the table's creation order
			}
			add("index %s on %s(%s) unique=%d origin=%s where %q", index, name, strings.Join(cols, ","), unique, origin, where)
			return nil
		})
	}
	each(t, db, `SELECT id, version FROM constituency_version`, nil, func(r *sql.Rows) error {
		var id, v int
		err := r.Scan(&id, &v)
		add("constituency_version row %d = %d", id, v)
		return err
	})
	slices.Sort(facts)
	return facts
}

func each(t *testing.T, db *sql.DB, query string, args []any, fn func(*sql.Rows) error) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
