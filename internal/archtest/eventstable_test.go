package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// eventsTableOwners may name the event store's table of events in SQL:
// the stores and the statements the two share (eventsql). Everything
// else reads events through the store's methods (store.Events,
// store.EventLookup), so that a store can keep its events in another
// layout than that table (docs/EVENTSTORE.md, "Integration with the rest
// of Vigil").
var eventsTableOwners = []string{"internal/store/sqlitestore/", "internal/store/pgstore/", "internal/store/eventsql/"}

// eventsTableExceptions are files outside the owners that name the table
// still, each with the reason.
var eventsTableExceptions = map[string]string{
	// The contract's "an insert held open" holds a PostgreSQL insert
	// open in a transaction of its own, through the table of today's
	// layout; a layout without the table runs it otherwise.
	"internal/store/storetest/follow.go": "holds an insert open in SQL",
	// The notifier's test of a lower queue entry committed after a pass
	// read a higher one holds a PostgreSQL insert open the same way.
	"internal/notify/postgres_test.go": "holds an insert open in SQL",
	// This test's own examples of what it looks for.
	"internal/archtest/eventstable_test.go": "the pattern's examples",
}

// sqlOnEvents is SQL that reads or writes the table events, in any case,
// quoted or named with its schema (and not event_orgs, events_fts and the
// like: \b stops at the underscore's word).
var (
	sqlOnEvents = regexp.MustCompile(`(?i)\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:"?\w+"?\.)?"?events"?(?:[^\w]|$)`)
	sqlVerb     = regexp.MustCompile(`(?i)\b(?:SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP)\b`)
)

// isSQLOnEvents reports whether s is SQL on the events table.
func isSQLOnEvents(s string) bool { return sqlVerb.MatchString(s) && sqlOnEvents.MatchString(s) }

// joined is the text of a concatenation of strings as the program builds
// it: its literals in order, anything else (a constant, a call) as a
// space, so that a statement written in parts ("SELECT id " + "FROM
// events") is looked at whole.
func joined(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return " ", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.ParenExpr:
		return joined(e.X)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return " ", false
		}
		l, lok := joined(e.X)
		r, rok := joined(e.Y)
		return l + r, lok || rok
	}
	return " ", false
}

// TestOnlyTheStoresNameTheEventsTable looks at every string in the Go
// files (tests too) outside the stores for SQL on the events table.
func TestOnlyTheStoresNameTheEventsTable(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	for _, root := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join("..", "..", root), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".sql")) {
				return err
			}
			rel := filepath.ToSlash(strings.TrimPrefix(path, filepath.Join("..", "..")+string(filepath.Separator)))
			for _, owner := range eventsTableOwners {
				if strings.HasPrefix(rel, owner) {
					return nil
				}
			}
			if _, ok := eventsTableExceptions[rel]; ok {
				return nil
			}
			if strings.HasSuffix(path, ".sql") {
				b, err := os.ReadFile(path)
				if err == nil && isSQLOnEvents(string(b)) {
					t.Errorf("%s: SQL on the events table outside the stores", rel)
				}
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			checked++
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BasicLit, *ast.BinaryExpr:
					// A concatenation is looked at whole, not its parts
					// again.
					if s, ok := joined(n.(ast.Expr)); ok && isSQLOnEvents(s) {
						t.Errorf("%s: SQL on the events table outside the stores: read events through the store (store.Events, store.EventLookup)", fset.Position(n.Pos()))
					}
					_, isConcat := n.(*ast.BinaryExpr)
					return !isConcat
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 100 {
		t.Fatalf("only %d files looked at: the walk missed the source", checked)
	}
}

// TestSQLOnEventsMatches keeps the pattern honest: it must see the
// statements the stores write, and not the other tables' or prose.
func TestSQLOnEventsMatches(t *testing.T) {
	for s, want := range map[string]bool{
		`SELECT id, hash FROM events WHERE hash IN (?)`:             true,
		"SELECT e.stored FROM events AS e\n\tJOIN x":                true,
		"INSERT INTO events (hash, data) VALUES (?, ?)":             true,
		"SELECT 1 FROM event_orgs JOIN events ON id = event_id":     true,
		`SELECT count(*) FROM incident_events WHERE id = ?`:         false,
		`DELETE FROM event_orgs WHERE org = ?`:                      false,
		`SELECT org, event_id FROM notify_queue WHERE event_id = ?`: false,
		"add events to the incident opened from events":             false,
		`select id from events where id = ?`:                        true,
		`SELECT id FROM "events" WHERE id = ?`:                      true,
		`SELECT id FROM public.events WHERE id = ?`:                 true,
		`SELECT id FROM main."events"`:                              true,
		`SELECT id FROM events_fts WHERE x = ?`:                     false,
	} {
		if got := isSQLOnEvents(s); got != want {
			t.Errorf("%q: matched %v, want %v", s, got, want)
		}
	}
	// A statement written in parts is looked at whole.
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", "package x\nconst q = `SELECT id, hash ` + ColumnsOf + `FROM events WHERE id = ?`", 0)
	if err != nil {
		t.Fatal(err)
	}
	expr := f.Decls[0].(*ast.GenDecl).Specs[0].(*ast.ValueSpec).Values[0]
	if s, ok := joined(expr); !ok || !isSQLOnEvents(s) {
		t.Errorf("the concatenation reads as %q: not seen as SQL on events", s)
	}
}
