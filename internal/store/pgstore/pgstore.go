// Package pgstore keeps Vigil's state in PostgreSQL (pgx), for installations
// that outgrow the embedded SQLite file or run several vigil workers.
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed migrations/*.sql
var migrations embed.FS

// baseline is the schema of migrations/ up to version 7 in one script,
// where a new database starts.
//
//go:embed baseline/*.sql
var baseline embed.FS

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool  *pgxpool.Pool
	log   *slog.Logger
	parts partitions
	// closed is the set of the closed partitions' hashes (closedset.go).
	closed closedSet
	// hotHashes is the set of the hot partition's hashes (hotset.go).
	hotHashes hotSet
	// empty is what the Store knows of the sealed partitions' empty
	// columns (emptycols.go).
	empty emptyCache
	// beforeCommit, when a test sets it, runs between a batch's giving
	// hotLock back and its commit.
	beforeCommit func()
}

// Open connects to the database at dsn (a postgres:// URL or key=value
// string; search_path may be set in it to use a schema other than public).
// Call Migrate before use.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parse DSN: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connect to %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	s := &Store{pool: pool, log: slog.Default()}
	s.parts.background, s.parts.stop = context.WithCancel(context.Background())
	return s, nil
}

// SetLogger replaces the logger for migration notices (default slog.Default()).
func (s *Store) SetLogger(l *slog.Logger) { s.log = l }

// Close stops the sealing of partitions and releases the connection pool.
func (s *Store) Close() error {
	s.parts.stop()
	s.parts.wg.Wait()
	s.pool.Close()
	return nil
}

// migrateLock names the advisory lock (sqlkit.LockKey) that keeps two vigil
// processes starting at once from applying the same migration twice. (The
// capabilities' migrations, sqlkit.MigrateSchemas, take a lock of their
// own, keyed by the schema too: sqlkit.Postgres.MigrationLock.)
const migrateLock = "vigil migrate"

// lockMigrations takes migrateLock until the end of the transaction that
// applies the migrations.
var lockMigrations = `SELECT pg_advisory_xact_lock(` + sqlkit.LockKey(migrateLock) + `, 0)`

// goSteps are the parts of migrations that SQL cannot do, run after the
// migration's SQL in its transaction.
var goSteps = map[int]func(context.Context, pgx.Tx) error{
	3: migrateNotifyLayout,
}

// Migrate applies the embedded migrations not yet recorded in
// schema_version, all in one transaction under an advisory lock.
// A new database starts from the baseline script instead; then the
// capabilities' schemas follow, in the order given.
func (s *Store) Migrate(ctx context.Context, schemas ...sqlkit.Schema) error {
	if err := s.migrateTo(ctx, math.MaxInt); err != nil {
		return err
	}
	err := sqlkit.MigrateSchemas(ctx, s.DB(), schemas, func(sc sqlkit.Schema, m sqlkit.Migration) {
		s.log.Info("database migrated", "store", "postgres", "schema", sc.Name, "version", m.Version, "migration", m.Name)
	})
	if err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	// Partitions closed by a process that stopped before it sealed them.
	s.startSealing()
	return nil
}

// migrateTo applies the migrations up to version (tests start from an
// older schema with it).
func (s *Store) migrateTo(ctx context.Context, version int) error {
	ms, err := sqlkit.LoadMigrations(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	base, err := sqlkit.LoadBaseline(baseline, "baseline")
	if err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, lockMigrations); err != nil {
		return fmt.Errorf("pgstore: migrate: lock: %w", err)
	}
	var applied []sqlkit.Migration
	err = sqlkit.Migrate(ctx, migrator{tx}, ms, base, version, func(m sqlkit.Migration) { applied = append(applied, m) })
	if err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: commit: %w", err)
	}
	for _, m := range applied {
		s.log.Info("database migrated", "store", "postgres", "version", m.Version, "migration", m.Name)
	}
	return nil
}

// migrator is PostgreSQL's sqlkit.Migrator: every migration runs in the
// one transaction that holds the advisory lock, so they commit together.
type migrator struct{ tx pgx.Tx }

func (mg migrator) Version(ctx context.Context) (int, error) {
	if _, err := mg.tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return 0, err
	}
	var current int
	err := mg.tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&current)
	return current, err
}

func (mg migrator) Apply(ctx context.Context, m sqlkit.Migration) error {
	// Exec without arguments uses the simple protocol, which runs a
	// script of several statements.
	if _, err := mg.tx.Exec(ctx, m.SQL); err != nil {
		return err
	}
	if step := goSteps[m.Version]; step != nil && !m.Baseline {
		if err := step(ctx, mg.tx); err != nil {
			return err
		}
	}
	_, err := mg.tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, m.Version)
	return err
}

// SQLSTATE codes pgstore tells apart (pgCode).
const (
	codeUnique         = "23505"
	codeForeignKey     = "23503"
	codeLockTimeout    = "55P03"
	codeCheck          = "23514"
	codeUndefinedTable = "42P01"
)

// pgCode is the SQLSTATE of the server's error in err, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isUnique reports whether err is a unique violation.
func isUnique(err error) bool { return pgCode(err) == codeUnique }

// isForeignKey reports whether err is a foreign key violation.
func isForeignKey(err error) bool { return pgCode(err) == codeForeignKey }

// inTxWith runs f in a transaction of db that has the setting name set to
// value (SET LOCAL), and commits it unless f fails.
func inTxWith(ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, name, value string, f func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config($1, $2, true)`, name, value); err != nil {
			return err
		}
		return f(tx)
	})
}

// args numbers query parameters as they are added.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

var _ store.Store = (*Store)(nil)
