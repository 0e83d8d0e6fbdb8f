package pgstore

import (
	"fmt"
	"slices"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/notify/notifydb"
	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
)

// TestSchemaEquivalence checks that a new database, made from the
// baseline script and the capabilities' schemas, has the tables, columns,
// indexes and constraints of a database of an earlier release brought up
// through migrations 0001 to 0007, whose tables the capabilities' first
// migrations then adopt.
func TestSchemaEquivalence(t *testing.T) {
	ctx := t.Context()
	fresh := openFresh(t)
	if err := fresh.Migrate(ctx, constituencydb.Schema, authdb.Schema, outboxdb.Schema, notifydb.Schema, told.Schema); err != nil {
		t.Fatalf("new database: %v", err)
	}
	upgraded := openFresh(t)
	if err := upgraded.migrateTo(ctx, 1); err != nil {
		t.Fatalf("database of the first release: %v", err)
	}
	if err := upgraded.Migrate(ctx, constituencydb.Schema, authdb.Schema, outboxdb.Schema, notifydb.Schema, told.Schema); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	// Both make partition 2 ahead in the background (prepareNext).
	fresh.parts.wg.Wait()
	upgraded.parts.wg.Wait()
	want, got := describeSchema(t, upgraded), describeSchema(t, fresh)
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

// describeSchema lists what makes up the store's schema (its own
// PostgreSQL schema, the search path), one fact a line, sorted: columns
// with their type, collation, nullability, default and identity; indexes
// as PostgreSQL defines them; constraints; and the rows of
// constituency_version. Names of the PostgreSQL schema are left out.
func describeSchema(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := t.Context()
	var facts []string
	queries := []string{
		`SELECT format('column %s.%s #%s %s collate=%s null=%s default=%s identity=%s',
			table_name, column_name, ordinal_position, udt_name, coalesce(collation_name, ''), is_nullable,
			coalesce(column_default, ''), coalesce(identity_generation, ''))
		FROM information_schema.columns WHERE table_schema = current_schema()`,
		`SELECT format('index %s on %s: %s', indexname, tablename, replace(indexdef, current_schema() || '.', ''))
		FROM pg_indexes WHERE schemaname = current_schema()`,
		`SELECT format('constraint %s on %s: %s', c.conname, r.relname, pg_get_constraintdef(c.oid))
		FROM pg_constraint AS c JOIN pg_class AS r ON r.oid = c.conrelid
		WHERE c.connamespace = current_schema()::regnamespace`,
		`SELECT format('constituency_version row %s = %s', id, version) FROM constituency_version`,
	}
	for _, q := range queries {
		rows, err := s.pool.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var f string
			if err := rows.Scan(&f); err != nil {
				t.Fatal(err)
			}
			facts = append(facts, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(fmt.Errorf("%s: %w", q, err))
		}
	}
	slices.Sort(facts)
	return facts
}
