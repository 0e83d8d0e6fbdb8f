package sqlkit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigil-cert/vigil/internal/i18n"
)

func TestLoadMigrationsOrdersByVersion(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_ten.sql": {Data: []byte("ten")},
		"m/0002_two.sql": {Data: []byte("two")},
		"m/0001_one.sql": {Data: []byte("one")},
	}
	ms, err := LoadMigrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Name+"="+m.SQL)
	}
	if want := "0001_one.sql=one 0002_two.sql=two 0010_ten.sql=ten"; strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func TestLoadMigrationsRejectsUnnumbered(t *testing.T) {
	fsys := fstest.MapFS{"m/initial.sql": {Data: []byte("x")}}
	if _, err := LoadMigrations(fsys, "m"); err == nil || !strings.Contains(err.Error(), "initial.sql") {
		t.Errorf("err = %v, want one naming the file", err)
	}
}

// fakeMigrator records what Migrate applies.
type fakeMigrator struct {
	current   int
	applied   []int
	baselines []bool
	failAt    int
}

func (f *fakeMigrator) Version(context.Context) (int, error) { return f.current, nil }

func (f *fakeMigrator) Apply(_ context.Context, m Migration) error {
	if m.Version == f.failAt {
		return errors.New("boom")
	}
	f.applied = append(f.applied, m.Version)
	f.baselines = append(f.baselines, m.Baseline)
	return nil
}

func TestMigrateAppliesPendingUpTo(t *testing.T) {
	ms := []Migration{{Version: 1, Name: "1"}, {Version: 2, Name: "2"}, {Version: 3, Name: "3"}, {Version: 4, Name: "4"}}
	f := &fakeMigrator{current: 1}
	var told []int
	if err := Migrate(t.Context(), f, ms, nil, 3, func(m Migration) { told = append(told, m.Version) }); err != nil {
		t.Fatal(err)
	}
	if len(f.applied) != 2 || f.applied[0] != 2 || f.applied[1] != 3 || len(told) != 2 {
		t.Errorf("applied %v, told %v; want [2 3] both", f.applied, told)
	}
	f = &fakeMigrator{failAt: 2}
	err := Migrate(t.Context(), f, ms, nil, 10, nil)
	if err == nil || err.Error() != "migration 2: boom" {
		t.Errorf("err = %v, want migration 2: boom", err)
	}
	if len(f.applied) != 1 {
		t.Errorf("applied %v after a failure, want [1]", f.applied)
	}
}

func TestMigrateStartsANewDatabaseFromTheBaseline(t *testing.T) {
	ms := []Migration{{Version: 1, Name: "1"}, {Version: 2, Name: "2"}, {Version: 3, Name: "3"}}
	base := &Migration{Version: 2, Name: "0002_baseline.sql"}
	f := &fakeMigrator{}
	if err := Migrate(t.Context(), f, ms, base, 10, nil); err != nil {
		t.Fatal(err)
	}
	// The baseline (recorded as 2) and then 3; neither 1 nor 2 itself.
	if len(f.applied) != 2 || f.applied[0] != 2 || f.applied[1] != 3 || !f.baselines[0] || f.baselines[1] {
		t.Errorf("new database: applied %v (baselines %v), want the baseline then 3", f.applied, f.baselines)
	}
	// A database on its way up (version 1) takes the migrations.
	f = &fakeMigrator{current: 1}
	if err := Migrate(t.Context(), f, ms, base, 10, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.applied) != 2 || f.baselines[0] || f.baselines[1] {
		t.Errorf("database at 1: applied %v (baselines %v), want 2 and 3 as migrations", f.applied, f.baselines)
	}
	// A new database migrated to below the baseline (a test of an upgrade)
	// takes the migrations too.
	f = &fakeMigrator{}
	if err := Migrate(t.Context(), f, ms, base, 1, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.applied) != 1 || f.baselines[0] {
		t.Errorf("new database to 1: applied %v (baselines %v), want migration 1", f.applied, f.baselines)
	}
}

// TestMigrateRefusesANewerSchema: a database a newer build migrated past
// what this build knows is refused, in words a person reads, and nothing
// is applied.
func TestMigrateRefusesANewerSchema(t *testing.T) {
	ms := []Migration{{Version: 1, Name: "1"}, {Version: 2, Name: "2"}}
	f := &fakeMigrator{current: 3}
	err := Migrate(t.Context(), f, ms, nil, 10, nil)
	var newer *NewerError
	if !errors.As(err, &newer) || newer.Have != 3 || newer.Know != 2 {
		t.Fatalf("err = %v, want a NewerError 3 > 2", err)
	}
	if m, ok := i18n.Explain(err); !ok || m.ID != "store.schema.newer" {
		t.Errorf("explained as %v, %v", m, ok)
	}
	if len(f.applied) != 0 {
		t.Errorf("applied %v", f.applied)
	}
	// The baseline counts as known: a database at its version is not newer.
	f = &fakeMigrator{current: 5}
	if err := Migrate(t.Context(), f, ms, &Migration{Version: 5, Name: "0005_baseline.sql"}, 10, nil); err != nil {
		t.Errorf("at the baseline's version: %v", err)
	}
}
