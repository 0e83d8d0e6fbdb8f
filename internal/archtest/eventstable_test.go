package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// eventsTableOwners may name the event store's table of events in SQL:
// the stores, the statements the two share (eventsql), and the
// partitioned engine (partstore), whose partitions have tables of that
// name of their own. Everything
// else reads events through the store's methods (store.Events,
// store.EventLookup), so that a store can keep its events in another
// layout than that table (docs/EVENTSTORE.md, "Integration with the rest
// of Vigil").
var eventsTableOwners = []string{"internal/store/sqlitestore/", "internal/store/pgstore/", "internal/store/eventsql/", "internal/store/partstore/"}

// eventsTableExceptions are files outside the owners that name the table
// still, each with the reason.
var eventsTableExceptions = map[string]string{
	// The contract's "an insert held open" holds a PostgreSQL insert
	// open in a transaction of its own, through the table of today's
	// layout; a layout without the table runs it otherwise.
	"internal/store/storetest/follow.go": "holds an insert open in SQL",
	// This test's own examples of what it looks for.
	"internal/archtest/eventstable_test.go": "the pattern's examples",
}

// sqlOnEvents is SQL that reads or writes the table events (and not
// event_orgs, events_fts and the like: \b stops at the underscore's word).
var (
	sqlOnEvents = regexp.MustCompile(`\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+events\b(?:[^_]|$)`)
	sqlVerb     = regexp.MustCompile(`\b(?:SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP)\b`)
)

// TestOnlyTheStoresNameTheEventsTable looks at every string in the Go
// files (tests too) outside the stores for SQL on the events table.
func TestOnlyTheStoresNameTheEventsTable(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	for _, root := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join("..", "..", root), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
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
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			checked++
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err == nil && sqlVerb.MatchString(s) && sqlOnEvents.MatchString(s) {
					t.Errorf("%s: SQL on the events table outside the stores: read events through the store (store.Events, store.EventLookup)", fset.Position(lit.Pos()))
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
	} {
		if got := sqlVerb.MatchString(s) && sqlOnEvents.MatchString(s); got != want {
			t.Errorf("%q: matched %v, want %v", s, got, want)
		}
	}
}
