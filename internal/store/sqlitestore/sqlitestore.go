// Package sqlitestore keeps Vigil's state in one SQLite file (pure Go,
// modernc.org/sqlite), the embedded default: WAL, one writer connection so
// writes are serialized and batched, and a pool of readers.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

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

// readerMapBytes is how much of the database file a reader maps: SQLite's
// compile-time ceiling (SQLITE_MAX_MMAP_SIZE, 2 GiB less 64 KiB), which it
// would clamp a larger figure to. Pages past it are read as without a map.
const readerMapBytes = 0x7fff0000

// Options tune the database; the zero value is the safe default.
type Options struct {
	// Synchronous is SQLite's synchronous setting: "FULL" (default) makes
	// every committed batch durable before InsertEvents returns, so an
	// acknowledged batch survives a power loss. "NORMAL" may lose the last
	// transactions on power loss (not on a process crash); "OFF" is for
	// throwaway bulk loads such as benchmarks.
	Synchronous string
	// CacheMiB is the writer's page cache (default 64; 16 in the parts
	// layout, see partsWriterCacheMiB). Index maintenance of a large
	// events table is bound by how much of the indexes stays cached.
	CacheMiB int
	// cacheDefault says CacheMiB was not given.
	cacheDefault bool
	// ReaderCacheMiB is each reader's page cache (default 32).
	ReaderCacheMiB int
	// Readers is the size of the read pool (default: 2 × GOMAXPROCS, at
	// least 4).
	Readers int
	// BusyTimeout is how long a connection waits for a lock (default 10s).
	BusyTimeout time.Duration
	// Logger receives migration notices; default slog.Default().
	Logger *slog.Logger
	// EventLayout is how events are kept: LayoutParts (partitions, see
	// parts.go; the default for a new database) or LayoutRows (one
	// table). A database keeps the layout it was created with; ""
	// opens either (a database with events in the rows layout stays so
	// until vigil migrate-events), and asking for the other one is an
	// error.
	EventLayout string
	// PartitionEvents is how many events a partition of the parts layout
	// holds before it is sealed (default 524,288); tests make it tiny.
	PartitionEvents int
	// PageBytes is the page size of a new database, a power of two from
	// 512 to 65,536 (default defaultPageBytes). An existing database
	// keeps the page size written in its file.
	PageBytes int
}

// defaultPageBytes is the page size of a new database: 16 KiB pages
// write an ingested million events to the WAL in 37,576 calls rather than
// SQLite's 4 KiB pages' 126,457 (a frame is two calls) and to the
// database file in 14,113 rather than 54,490, for 239 bytes an event on
// disk rather than 237; 32 KiB pages took 273 (a block's last overflow
// page half empty on average). docs/PERFORMANCE.md, the store-s40 helper.
const defaultPageBytes = 16384

func (o *Options) defaults() error {
	switch strings.ToUpper(o.Synchronous) {
	case "":
		o.Synchronous = "FULL"
	case "FULL", "NORMAL", "OFF", "EXTRA":
		o.Synchronous = strings.ToUpper(o.Synchronous)
	default:
		return fmt.Errorf("sqlitestore: synchronous %q: want FULL, NORMAL, OFF or EXTRA", o.Synchronous)
	}
	if o.CacheMiB <= 0 {
		o.CacheMiB = 64
		o.cacheDefault = true
	}
	if o.ReaderCacheMiB <= 0 {
		o.ReaderCacheMiB = 32
	}
	if o.Readers <= 0 {
		o.Readers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PageBytes == 0 {
		o.PageBytes = defaultPageBytes
	}
	if o.PageBytes < 512 || o.PageBytes > 65536 || o.PageBytes&(o.PageBytes-1) != 0 {
		return fmt.Errorf("sqlitestore: page size %d: want a power of two from 512 to 65536", o.PageBytes)
	}
	switch o.EventLayout {
	case "", LayoutRows, LayoutParts:
	default:
		return fmt.Errorf("sqlitestore: event layout %q: want %q or %q", o.EventLayout, LayoutRows, LayoutParts)
	}
	return nil
}

// Checkpoints (copying the WAL into the database file, then an fsync of
// it) do not run in the committing writer, as SQLite's auto-checkpoint
// would: a background connection copies what it can every
// checkpointInterval while the writer goes on appending, so a batch commit
// costs its WAL write and fsync only, and the copying uses the other core.
// When a sustained burst lets the WAL outgrow walLimitBytes, the writer itself runs a blocking checkpoint after its next commit: it
// waits (back-pressure) instead of the WAL growing without bound. (A
// blocking checkpoint from the background connection would wait for a
// writer that never pauses.)
const checkpointInterval = 250 * time.Millisecond

// walLimitBytes is a variable so that a test can make it small. It is
// counted in bytes, whatever the database's page size.
var walLimitBytes int64 = 128 << 20

// deferredWALFactor is how much larger the WAL may grow while the
// checkpoints are deferred (DeferCheckpoints): 512 MiB, past a
// morning's notifier pass over a million events (about 300 MB of
// messages, sets and queue pages).
const deferredWALFactor = 4

// Store is the SQLite implementation of store.Store.
type Store struct {
	// write has exactly one connection: SQLite allows one writer at a time,
	// and queueing in database/sql is cheaper and fairer than retrying on
	// SQLITE_BUSY.
	write *sql.DB
	read  *sql.DB
	log   *slog.Logger
	// checkpoint is the background checkpointer's own connection.
	checkpoint *sql.DB
	walBytes   atomic.Int64 // WAL size the checkpointer last saw, its frames in bytes
	// pageBytes is the database's page size (the file's, not
	// Options.PageBytes); walFrameBytes is the size of one frame of the
	// WAL: a page and the frame's header.
	pageBytes, walFrameBytes int64
	deferred                 atomic.Int64 // how many DeferCheckpoints are not resumed
	walFile                  string       // the WAL's file name, whose size the writer checks
	stopCheckpoint           context.CancelFunc
	checkpointDone           chan struct{}

	// prepared holds the read statements run once per organisation in a
	// notifier pass (query → *sql.Stmt): parsing one costs about as much
	// as running it.
	prepared sync.Map

	opts Options
	// layout is the event layout, known once Migrate ran; parts is the
	// state of the parts layout, nil in the rows one.
	layout string
	parts  *parts
}

// readStmt returns query prepared on the read pool, preparing it once.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.prepared.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.prepared.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Open opens (creating if needed) the database file at path. Call Migrate
// before use.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	if err := restrictFiles(abs, opts.Logger); err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// A file: URI with the path escaped, so that '?', '#' or '%' in a
	// directory name cannot be read as URI syntax.
	dsn := func(q url.Values) string {
		return (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String()
	}
	common := url.Values{}
	common.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	if err := createFile(ctx, abs, dsn(cloneValues(common)), opts.PageBytes); err != nil {
		return nil, fmt.Errorf("sqlitestore: create %s: %w", path, err)
	}
	common.Add("_pragma", "foreign_keys(1)")
	common.Add("_pragma", "temp_store(MEMORY)")

	w := cloneValues(common)
	// createFile set a new database's page size and auto_vacuum; an
	// existing database keeps its own.
	w.Add("_pragma", "journal_mode(WAL)")
	w.Add("_pragma", "synchronous("+opts.Synchronous+")")
	w.Add("_pragma", fmt.Sprintf("cache_size(%d)", -opts.CacheMiB*1024))
	w.Add("_pragma", "wal_autocheckpoint(0)")
	// After a checkpoint the WAL file is truncated back to this size, so a
	// burst does not leave a large file behind.
	w.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", 64<<20))
	// Take the write lock at BEGIN: a deferred transaction that reads first
	// and then writes can fail with SQLITE_BUSY instead of waiting.
	w.Set("_txlock", "immediate")
	write, err := sql.Open("sqlite", dsn(w))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// The writer opens first so the file exists and is in WAL mode before
	// any reader attaches.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}

	var pageBytes int64
	if err := write.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageBytes); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: page size: %w", path, err)
	}

	r := cloneValues(common)
	r.Add("_pragma", fmt.Sprintf("cache_size(%d)", -opts.ReaderCacheMiB*1024))
	r.Add("_pragma", "query_only(1)")
	// Readers see the database file through a memory map: a page is read
	// straight from the operating system's file cache instead of being
	// copied into each connection's own page cache, so a fresh connection
	// does not fill its cache again (docs/PERFORMANCE.md, the mmap-s37
	// helper). The WAL is read as before; the writer keeps its copies.
	r.Add("_pragma", fmt.Sprintf("mmap_size(%d)", readerMapBytes))
	read, err := sql.Open("sqlite", dsn(r))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlitestore: open %s for reading: %w", path, err)
	}
	read.SetMaxOpenConns(opts.Readers)
	read.SetMaxIdleConns(opts.Readers)
	read.SetConnMaxIdleTime(5 * time.Minute)
	if err := read.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlitestore: open %s for reading: %w", path, err)
	}
	c := cloneValues(common)
	c.Add("_pragma", "synchronous("+opts.Synchronous+")")
	checkpoint, err := sql.Open("sqlite", dsn(c))
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlitestore: open %s for checkpoints: %w", path, err)
	}
	checkpoint.SetMaxOpenConns(1)
	cctx, stop := context.WithCancel(context.Background())
	s := &Store{write: write, read: read, log: opts.Logger, checkpoint: checkpoint, walFile: path + "-wal", pageBytes: pageBytes, walFrameBytes: pageBytes + walFrameHeaderBytes,
		stopCheckpoint: stop, checkpointDone: make(chan struct{}), opts: opts}
	go s.checkpointLoop(cctx)
	if err := s.openPartsEarly(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// createFile gives a database that has no page yet its page size and
// auto_vacuum, and puts it in WAL mode, which writes its first page: the
// driver runs a DSN's pragmas sorted by name, so auto_vacuum and
// journal_mode would come before page_size, and once either ran a new
// page size is no longer taken. auto_vacuum INCREMENTAL lets the sealing
// free the pages of a sealed partition's dropped compact rows
// (parts_rows.go). A file with a page, or a WAL that may hold its first
// pages, is left as it is.
func createFile(ctx context.Context, path, dsn string, pageBytes int) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Size() != 0 {
		return nil
	}
	if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() != 0 {
		return nil
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, pragma := range []string{
		fmt.Sprintf("PRAGMA page_size = %d", pageBytes),
		"PRAGMA auto_vacuum = INCREMENTAL",
		"PRAGMA journal_mode = WAL",
	} {
		if _, err := conn.ExecContext(ctx, pragma); err != nil {
			return fmt.Errorf("%s: %w", pragma, err)
		}
	}
	return nil
}

// restrictFiles makes the database file readable by its owner only
// before SQLite opens it: it holds accounts, sessions and sealed secrets.
// SQLite gives the -wal and -shm files the database file's mode, so they
// follow. The file is created here, with mode 0600 whatever the umask,
// rather than by SQLite with 0644; files an earlier version left open to
// others are narrowed.
func restrictFiles(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
			return err
		}
		log.Info("database file made readable by its owner only", "file", p, "was", fi.Mode().Perm().String())
	}
	return nil
}

// checkpointLoop copies the WAL into the database in the background; see
// checkpointInterval.
func (s *Store) checkpointLoop(ctx context.Context) {
	defer close(s.checkpointDone)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.checkpointPassive(ctx)
	}
}

// checkpointPassive copies what it can of the WAL into the database,
// without waiting for the writer or the readers; while the checkpoints
// are deferred, only once the WAL file has outgrown walLimit. It reports
// whether it ran.
func (s *Store) checkpointPassive(ctx context.Context) bool {
	if s.deferred.Load() > 0 && s.walFileSize() <= s.walLimit() {
		return false
	}
	var busy, walPages, copied int
	err := s.checkpoint.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &walPages, &copied)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("sqlite checkpoint", "err", err)
		}
		return false
	}
	s.walBytes.Store(int64(walPages) * s.walFrameBytes)
	return true
}

// DeferCheckpoints puts the background checkpoints off until resume is
// called, for a burst of large commits that must not wait: the
// notifier's pass over a morning's queue, whose commits write some 300
// MB to the WAL at a million events. Checkpoints alongside copy them into
// the database while the pass runs, their writes and fsyncs of the
// database competing with the commits' fsyncs of the WAL and their CPU
// (0.8–0.9 s of a bench notify pass) with the pass's; deferred, they
// copy them once after it. The WAL stays bounded: at deferredWALFactor
// times its usual limit the checkpointer copies it anyway, and the
// writer's limit (limitWAL) rises as much. A commit is as durable as
// ever: what waits is the copy of committed pages into the database
// file. Calls may overlap; the checkpoints resume once every one is
// resumed.
func (s *Store) DeferCheckpoints() (resume func()) {
	s.deferred.Add(1)
	var once sync.Once
	return func() { once.Do(func() { s.deferred.Add(-1) }) }
}

// walLimit is the size of the WAL, in bytes, past which it is copied
// into the database: walLimitBytes, or deferredWALFactor times it while
// the checkpoints are deferred.
func (s *Store) walLimit() int64 {
	if s.deferred.Load() > 0 {
		return deferredWALFactor * walLimitBytes
	}
	return walLimitBytes
}

// walFileSize is the size of the WAL file, 0 when there is none.
func (s *Store) walFileSize() int64 {
	fi, err := os.Stat(s.walFile)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// limitWAL runs a blocking checkpoint on the writer's connection when the
// background checkpointer saw the WAL outgrow walLimitBytes. RESTART
// lets the next commits reuse the file from its start. Should the
// checkpointer fall so far behind (a starved machine) that the WAL file
// passes twice the limit between two of its looks, the writer, which
// checks the file's size after each commit (a stat costs far less than a
// commit), truncates it: the WAL stays under twice the limit plus one
// commit whatever the checkpointer's pace.
func (s *Store) limitWAL(ctx context.Context) {
	var mode string
	if limit := s.walLimit(); s.walFileSize() > 2*limit {
		mode = "TRUNCATE"
	} else if s.walBytes.Load() > limit {
		mode = "RESTART"
	} else {
		return
	}
	var busy, walPages, copied int
	err := s.write.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &walPages, &copied)
	if err != nil {
		s.log.Warn("sqlite checkpoint", "err", err)
		return
	}
	if busy == 0 {
		s.walBytes.Store(0)
	}
}

// walFrameHeaderBytes is the header of a frame of the WAL, before its page.
const walFrameHeaderBytes = 24

// Close stops the checkpointer, folds the WAL into the database and
// releases the connections.
func (s *Store) Close() error {
	var partsErr error
	if s.parts != nil {
		partsErr = s.parts.close()
	}
	s.stopCheckpoint()
	<-s.checkpointDone
	_, err := s.checkpoint.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	s.prepared.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	return errors.Join(partsErr, err, s.checkpoint.Close(), s.write.Close(), s.read.Close())
}

// goSteps are the parts of migrations that SQL cannot do, run after the
// migration's SQL in its transaction.
var goSteps = map[int]func(context.Context, *sql.Tx) error{
	3: migrateNotifyLayout,
}

// Migrate applies the embedded migrations not yet recorded in
// schema_version, each in its own transaction.
// A new database starts from the baseline script instead; then the
// capabilities' schemas follow, in the order given.
func (s *Store) Migrate(ctx context.Context, schemas ...sqlkit.Schema) error {
	if err := s.migrateTo(ctx, math.MaxInt); err != nil {
		return err
	}
	if err := s.setupLayout(ctx); err != nil {
		return err
	}
	err := sqlkit.MigrateSchemas(ctx, s.DB(), schemas, func(sc sqlkit.Schema, m sqlkit.Migration) {
		s.log.Info("database migrated", "store", "sqlite", "schema", sc.Name, "version", m.Version, "migration", m.Name)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	if s.parts != nil {
		s.parts.startSealing()
	}
	return nil
}

// migrateTo applies the migrations up to version (tests start from an
// older schema with it).
func (s *Store) migrateTo(ctx context.Context, version int) error {
	ms, err := sqlkit.LoadMigrations(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	base, err := sqlkit.LoadBaseline(baseline, "baseline")
	if err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	err = sqlkit.Migrate(ctx, migrator{s.write}, ms, base, version, func(m sqlkit.Migration) {
		s.log.Info("database migrated", "store", "sqlite", "version", m.Version, "migration", m.Name)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	return nil
}

// migrator is SQLite's sqlkit.Migrator: each migration is applied in its
// own transaction on the writer.
type migrator struct{ write *sql.DB }

func (mg migrator) Version(ctx context.Context) (int, error) {
	if _, err := mg.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)`); err != nil {
		return 0, err
	}
	var current int
	err := mg.write.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&current)
	return current, err
}

func (mg migrator) Apply(ctx context.Context, m sqlkit.Migration) error {
	tx, err := mg.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if step := goSteps[m.Version]; step != nil && !m.Baseline {
		if err := step(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied) VALUES (?, ?)`,
		m.Version, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKey reports whether err is a FOREIGN KEY violation.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// nullText stores "" as NULL, so partial indexes leave it out.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

var _ store.Store = (*Store)(nil)

// DB returns the store as a sqlkit.DB, for the queries written once on the
// shared layer.
func (s *Store) DB() sqlkit.DB {
	return sqlkit.SQLDB{Write: s.write, Read: s.read, Dial: sqlkit.SQLite, ForeignKey: isForeignKey, Unique: isUnique}
}

// named prefixes an error of the shared layer with the store's name.
func named(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlitestore: %w", err)
}
