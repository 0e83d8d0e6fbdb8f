package sqlkit

import (
	"strconv"
	"strings"
	"time"
)

// A Dialect says how the two databases differ where a query is otherwise
// the same, so that its text is written once:
//
//   - placeholders: SQLite takes "?", PostgreSQL "$1", "$2", …; shared
//     queries are written with "?" and Rebind numbers them, or built with
//     Args, which hands out the next placeholder;
//   - times: SQLite keeps Unix microseconds in an INTEGER column,
//     PostgreSQL a timestamptz (Time gives the parameter);
//   - order: a text column sorted by its bytes needs COLLATE "C" in
//     PostgreSQL (ByteOrder);
//   - lists: SQLite expands "x IN (?, ?, …)", PostgreSQL binds one array,
//     "x = ANY($1)" (In); a list column is a JSON array in SQLite, a
//     text[] in PostgreSQL (List, ListDest).
//
// Upserts need no dialect: both take INSERT … ON CONFLICT (…) DO UPDATE SET
// c = excluded.c. Booleans are bound as Go bools on both (SQLite stores
// them as 0 and 1), and TRUE and FALSE are literals both know (SQLite
// since 3.23); queries not yet shared still spell them per store
// ("retried = 0" against "NOT retried").
type Dialect struct {
	name     string
	numbered bool // placeholders are $1, $2, …
	micros   bool // times are Unix microseconds
	// migrationLock is the statement that makes a migration wait for
	// another process's; SQLite's writer lock, taken at BEGIN, does it
	// already. PostgreSQL's advisory locks are the database's, so the
	// lock is keyed by the schema too: stores in two schemas of one
	// database do not wait for each other's migrations.
	migrationLock string
}

var (
	// SQLite is the dialect of the embedded store.
	SQLite = Dialect{name: "sqlite", micros: true}
	// Postgres is the dialect of the PostgreSQL store.
	Postgres = Dialect{name: "postgres", numbered: true,
		migrationLock: `SELECT pg_advisory_xact_lock(` + LockKey("vigil capabilities") + `)`}
)

// LockKey is the SQL of a PostgreSQL advisory lock's key for purpose in
// the current schema. Advisory locks are the database's, not a schema's:
// keyed by the purpose only, two stores in two schemas of one database
// (two Vigil instances, tests side by side) would wait for each other's
// migrations, and skip or wait for each other's sealing of the same
// partition number. A collision of the hashes of two schemas' names (one
// in 2^32) brings back only that waiting.
func LockKey(purpose string) string {
	return `hashtext('` + purpose + ` ' || coalesce(current_schema(), ''))`
}

// MigrationLock returns the statement a migration's transaction begins
// with to wait for another process's migration ("" when BEGIN does it).
func (d Dialect) MigrationLock() string { return d.migrationLock }

// String returns the dialect's name, as the stores log it.
func (d Dialect) String() string { return d.name }

// Placeholder returns the marker of the n-th parameter (from 1).
func (d Dialect) Placeholder(n int) string {
	if d.numbered {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// Rebind rewrites query, written with "?" placeholders, into the dialect's
// placeholders; a "?" inside a quoted string is left as it is.
func (d Dialect) Rebind(query string) string {
	if !d.numbered || !strings.Contains(query, "?") {
		return query
	}
	var (
		b      strings.Builder
		n      int
		quoted bool
	)
	b.Grow(len(query) + 8)
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteString(d.Placeholder(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Time returns t as the dialect stores it.
func (d Dialect) Time(t time.Time) any {
	if d.micros {
		return t.UnixMicro()
	}
	return t
}

// ByteOrder returns the ORDER BY term that sorts a text column by its
// bytes: SQLite's default collation does, PostgreSQL's need not.
func (d Dialect) ByteOrder(column string) string {
	if d.numbered {
		return column + ` COLLATE "C"`
	}
	return column
}

// NullTime returns t as the dialect stores it, the zero time as NULL.
func (d Dialect) NullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.Time(t)
}

// Args collects the parameters of a query as it is built and hands out
// their placeholders.
type Args struct {
	d    Dialect
	list []any
}

// Args starts an empty parameter list.
func (d Dialect) Args() *Args { return &Args{d: d} }

// Add appends v and returns its placeholder.
func (a *Args) Add(v any) string {
	a.list = append(a.list, v)
	return a.d.Placeholder(len(a.list))
}

// AddTime appends t as the dialect stores it and returns its placeholder.
func (a *Args) AddTime(t time.Time) string { return a.Add(a.d.Time(t)) }

// List returns the parameters in order.
func (a *Args) List() []any { return a.list }

// In returns the condition "column is one of values" (values not empty):
// "column IN (?, ?, …)" with one parameter a value in SQLite,
// "column = ANY($n)" with the whole list one array parameter in
// PostgreSQL.
func In[T any](a *Args, column string, values []T) string {
	if a.d.numbered {
		return column + " = ANY(" + a.Add(values) + ")"
	}
	var b strings.Builder
	b.WriteString(column + " IN (")
	for i, v := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Add(v))
	}
	b.WriteString(")")
	return b.String()
}
