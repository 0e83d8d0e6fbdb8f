package sqlkit

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// A Migration is one numbered SQL script, named NNNN_subject.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
	// Baseline marks a script that makes in one go the schema of every
	// migration up to Version: a new database starts from it, so it
	// has no Go step of its own.
	Baseline bool
}

// LoadBaseline reads the one baseline script in dir of fsys
// (NNNN_baseline.sql, where NNNN is the version it stands for).
func LoadBaseline(fsys fs.FS, dir string) (*Migration, error) {
	ms, err := LoadMigrations(fsys, dir)
	if err != nil {
		return nil, err
	}
	if len(ms) != 1 {
		return nil, fmt.Errorf("baseline: want one script in %s, have %d", dir, len(ms))
	}
	return &ms[0], nil // Migrate marks it Baseline when it applies it
}

// LoadMigrations reads the scripts in dir of fsys (each store embeds its
// own), ordered by version.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a version number", e.Name())
		}
		b, err := fs.ReadFile(fsys, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// A Migrator is a store's side of a migration: where the schema_version
// table is and how a script runs. SQLite applies each migration in its own
// transaction; PostgreSQL gives a Migrator that works inside one
// transaction holding an advisory lock.
type Migrator interface {
	// Version creates the schema_version table if it is missing and
	// returns the highest version it records (0 for none).
	Version(ctx context.Context) (int, error)
	// Apply runs m's script and the Go step that goes with it, if any,
	// and records m in schema_version.
	Apply(ctx context.Context, m Migration) error
}

// Migrate applies the migrations of ms newer than the recorded version and
// not newer than upTo, in order, and calls applied after each one. A
// database with no version yet that is to reach at least the baseline's
// version starts from the baseline (when not nil) instead of the
// migrations it stands for. Errors read "migrate: …" or "migration NAME:
// …"; the store prefixes its name.
func Migrate(ctx context.Context, mg Migrator, ms []Migration, baseline *Migration, upTo int, applied func(Migration)) error {
	current, err := mg.Version(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	known := 0
	if baseline != nil {
		known = baseline.Version
	}
	for _, m := range ms {
		known = max(known, m.Version)
	}
	if current > known {
		return &NewerError{Have: current, Know: known}
	}
	if baseline != nil && current == 0 && upTo >= baseline.Version {
		b := *baseline
		b.Baseline = true
		if err := mg.Apply(ctx, b); err != nil {
			return fmt.Errorf("migration %s: %w", b.Name, err)
		}
		if applied != nil {
			applied(b)
		}
		current = b.Version
	}
	for _, m := range ms {
		if m.Version <= current || m.Version > upTo {
			continue
		}
		if err := mg.Apply(ctx, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if applied != nil {
			applied(m)
		}
	}
	return nil
}

// NewerError is Migrate's refusal of a database whose schema a newer
// build wrote: this one would run its queries on tables it does not know.
type NewerError struct {
	Have, Know int
}

func (e *NewerError) Error() string {
	return fmt.Sprintf("migrate: the database's schema is at version %d, newer than this build's %d: it was written by a newer vigil", e.Have, e.Know)
}

// Explain says it to the person who started this build.
func (e *NewerError) Explain() i18n.Message {
	return i18n.M("store.schema.newer", e.Have, e.Know)
}
