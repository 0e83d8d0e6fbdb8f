package sqlkit

import (
	"context"
	"fmt"
	"io/fs"
)

// A Schema is the tables one capability owns (accounts, the constituency,
// notifications, …), kept with the capability's code: its name and its
// migrations, numbered from 1, one directory per dialect in FS ("sqlite"
// and "postgres", each holding NNNN_subject.sql scripts).
//
// A database records how far each schema has come in the table
// schema_capabilities, so capabilities migrate independently of each other
// and of the event store. The first migration of a schema whose tables
// existed before capabilities owned them creates them with IF NOT EXISTS:
// on a database made by an earlier release it adopts the tables that are
// there, which are the same.
type Schema struct {
	Name string
	FS   fs.FS
}

// Migrations returns the schema's migrations for dialect d, in order.
func (s Schema) Migrations(d Dialect) ([]Migration, error) {
	ms, err := LoadMigrations(s.FS, d.String())
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", s.Name, err)
	}
	return ms, nil
}

// MigrateSchemas brings every schema, in the order given (a schema whose
// tables refer to another's comes after it), to its newest version. Each
// migration runs in a transaction of its own with its record in
// schema_capabilities, under the dialect's migration lock, so that two
// processes starting at once apply it once. applied, when not nil, is
// called after each migration.
func MigrateSchemas(ctx context.Context, db DB, schemas []Schema, applied func(Schema, Migration)) error {
	if err := db.Script(ctx, `CREATE TABLE IF NOT EXISTS schema_capabilities (
		name    TEXT    PRIMARY KEY,
		version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	seen := make(map[string]bool)
	for _, s := range schemas {
		if s.Name == "" || seen[s.Name] {
			return fmt.Errorf("migrate: schema name %q is empty or given twice", s.Name)
		}
		seen[s.Name] = true
		ms, err := s.Migrations(db.Dialect())
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		// Most starts find every migration applied: one read says so,
		// without a transaction or a lock for each.
		current, err := schemaVersion(ctx, db, s.Name)
		if err != nil {
			return fmt.Errorf("migrate: schema %s: %w", s.Name, err)
		}
		for _, m := range ms {
			if m.Version <= current {
				continue
			}
			done, err := migrateSchemaStep(ctx, db, s, m)
			if err != nil {
				return fmt.Errorf("schema %s: migration %s: %w", s.Name, m.Name, err)
			}
			if done && applied != nil {
				applied(s, m)
			}
		}
	}
	return nil
}

// migrateSchemaStep applies m when the database has not got it yet and
// reports whether it did.
func migrateSchemaStep(ctx context.Context, db DB, s Schema, m Migration) (bool, error) {
	applied := false
	err := db.Tx(ctx, func(tx DB) error {
		if lock := tx.Dialect().MigrationLock(); lock != "" {
			if err := tx.Script(ctx, lock); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		// Another process may have applied it since the first read.
		current, err := schemaVersion(ctx, tx, s.Name)
		if err != nil {
			return err
		}
		if m.Version <= current {
			return nil
		}
		if err := tx.Script(ctx, m.SQL); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_capabilities (name, version) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET version = excluded.version`, s.Name, m.Version); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// schemaVersion returns the version recorded for the schema name, 0 for
// none.
func schemaVersion(ctx context.Context, db DB, name string) (int, error) {
	var v int
	err := db.QueryRow(ctx, `SELECT version FROM schema_capabilities WHERE name = ?`, name).Scan(&v)
	if db.IsNoRows(err) {
		return 0, nil
	}
	return v, err
}
