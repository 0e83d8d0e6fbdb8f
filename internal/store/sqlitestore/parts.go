package sqlitestore

// The "parts" layout of events (docs/EVENTSTORE.md, "The parts layout"):
// events in partitions, each a few tables of the store's own database, so
// that one transaction still covers a batch's events, its identity, its
// dedup keys and its tags. This file holds the layout's state and how a
// database is opened in it; parts_insert.go writes, parts_seal.go seals,
// parts_read.go, parts_queue_read.go and parts_search.go read.

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/offheap"
	"github.com/vigil-cert/vigil/internal/store"
)

// The event layouts of Options.EventLayout.
const (
	LayoutRows  = "rows"
	LayoutParts = "parts"
)

// partsVersion is the version of the on-disk parts layout, recorded in
// event_layout: a later version that changes a table reads it to know
// what it opens. Version 2 writes blocks in columns (parts_block.go);
// version 3 writes an IPv4 address column in 4 bytes (ipColumn) and
// blocks of 256 events; version 4 writes ts relative to the partition's
// day (event_parts.ts_base, tsBase): 6 bytes, not 8, in the compact row
// and in every index that holds it, and a sealing lists the events by AS
// number and by time instead of indexing them (parts_postings.go);
// version 5 lists them by address too (parts_addrs.go); version 6 keeps
// their hashes in runs instead of an index of h4 (parts_hashes.go);
// version 7 writes a sealed partition's compact rows in column chunks and
// its host names in a list, and drops ev_N (parts_rows.go); version 8
// writes a hot partition's compact rows as a chunk a batch (ev_N_hot,
// parts_hotchunks.go) instead of a row an event; version 9 writes a
// block's streams of distinct digests apart from its compressed frame
// (blockSplit, parts_block.go). Each reads what
// the versions before it wrote (version 1's blocks, all plain; 16-byte
// IPv4 columns; ts_base 0, absolute times; the indexes a partition was
// sealed with, event_parts.sealed_as), and a database
// of an earlier version it opens is recorded as this one, so that an
// earlier build refuses it rather than meet what it cannot read.
const (
	partsVersion       = 9
	oldestPartsVersion = 1
)

// Defaults of the parts layout.
const (
	// defaultPartitionEvents bounds the hot partition: its copy in memory
	// (about 110 bytes an event, off the heap: parts_hot.go) and the work of one sealing.
	defaultPartitionEvents = 524_288
	// blockEvents events are compressed together: zstd works on the
	// repetition between records, so a block of 128 costs a quarter of
	// what a record alone does (docs/EVENTSTORE.md), and one of 256 a
	// tenth less again. 256 is the most a location's slot (its low 8
	// bits) numbers.
	blockEvents = 256
	// blockBytes closes a block early: a block of large events would
	// otherwise hold blockEvents of them, beyond what a reader may decompress.
	// A record larger than blockBytes gets a block of its own.
	blockBytes = 1 << 20
	// blockMaxRaw is what a block of several events may decompress to:
	// the writer keeps them within blockBytes; blocks of 128 events
	// written before blocks were closed by size were read with this
	// bound, so it stays for them.
	blockMaxRaw = 64 << 20
	// maxPartRecord bounds an event's record, the uncompressed size of a
	// block of one event: SQLite refuses a value larger than 10^9 bytes
	// anyway (SQLITE_MAX_LENGTH), so the rows layout stores none larger.
	maxPartRecord = 1_000_000_000
)

// blockLevel is the zstd level of the blocks: zstd's default level
// stores a block of 256 events in about 5 % less than its fastest.
const blockLevel = zstd.SpeedDefault

// partsSchema is the layout's own tables, beside the others of the
// database. event_parts lists the partitions (a sealed one with its
// summary); event_dict gives the short texts a search selects by (feed,
// taxonomy, type, TLP) small numbers, so that a compact row stays small.
const partsSchema = `
CREATE TABLE IF NOT EXISTS event_layout (
	name    TEXT    NOT NULL,
	version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS event_parts (
	id       INTEGER PRIMARY KEY,
	day      TEXT    NOT NULL,
	first_id INTEGER NOT NULL,
	summary  BLOB,
	ts_base  INTEGER NOT NULL DEFAULT 0,
	sealed_as INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS event_dict (
	id    INTEGER PRIMARY KEY,
	kind  INTEGER NOT NULL,
	value TEXT    NOT NULL,
	UNIQUE (kind, value)
);
`

// partitionTables returns the statements creating partition n's tables
// as layout version version writes them: its compact rows (ev_n_hot, a
// chunk a batch, from version 8; ev_n, a row an event, before), its
// compressed blocks (ev_n_blocks) and its rarer search keys (ev_n_keys:
// URLs and malware hashes). None has an index but its rowid until the
// partition is sealed.
func partitionTables(n int64, version int) []string {
	t := partTable(n)
	rows := hotChunksTable(t)
	if version < hotChunksVersion {
		rows = `CREATE TABLE ` + t + ` (
			id INTEGER PRIMARY KEY,
			ts INTEGER NOT NULL,
			h8 INTEGER NOT NULL,
			loc INTEGER NOT NULL,
			src_ip BLOB, dst_ip BLOB,
			src_asn INTEGER, dst_asn INTEGER,
			src_fqdn TEXT, dst_fqdn TEXT,
			feed INTEGER, taxonomy INTEGER, type INTEGER, tlp INTEGER)`
	}
	return []string{
		rows,
		`CREATE TABLE ` + t + `_blocks (id INTEGER PRIMARY KEY, stored INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL)`,
		`CREATE TABLE ` + t + `_keys (kind INTEGER NOT NULL, value TEXT NOT NULL, id INTEGER NOT NULL)`,
	}
}

func partTable(n int64) string { return fmt.Sprintf("ev_%d", n) }

// Kinds of event_dict entries and of a partition's keys.
const (
	dictFeed = iota + 1
	dictTaxonomy
	dictType
	dictTLP
)

const (
	keySourceURL = iota + 1
	keyDestinationURL
	keyMD5
	keySHA1
	keySHA256
)

// partKey is one of an event's rarer search keys.
type partKey struct {
	kind  int8
	value string
}

// partEntry is an event's compact row as the writer makes it and a hot
// partition's copy in memory (hotCopy, in a smaller form) keeps it.
type partEntry struct {
	ts, id                   int64
	h8                       uint64
	loc                      int64
	srcIP, dstIP             store.IPKey
	srcASN, dstASN           int64
	srcFQDN, dstFQDN         string
	feed, taxonomy, typ, tlp int64
	keys                     []partKey
}

// partition is one partition of the layout.
type partition struct {
	n       int64
	day     string
	firstID int64
	table   string
	// base is what the rows' ts column holds time.source relative to
	// (event_parts.ts_base): the day's midnight since layout version 4,
	// 0 in a partition an earlier version made.
	base int64
	// sealedAs (guarded by parts.mu) is event_parts.sealed_as, the
	// layout version that sealed the partition (0 before version 4):
	// from 4 it has lists of its events by AS number and by time
	// (parts_postings.go) instead of the indexes of src_asn, dst_asn and
	// ts, from 5 lists by address (parts_addrs.go) instead of the
	// indexes of src_ip and dst_ip.
	sealedAs int

	// Guarded by parts.mu.
	sealed  bool
	sealing bool
	// covered (guarded by parts.mu) says every hash of the sealed
	// partition is in the duplicate check's set (parts_hashset.go): a
	// lookup asks its own filter only for a hash the set admits.
	covered bool
	// sealErr is the last failure to seal it and sealFailures their
	// count (the loop's backoff), both under parts.mu; cleared by a seal.
	sealErr      error
	sealFailures int
	// hot is the copy in memory of the rows (parts_hot.go), until sealed.
	hot *hotCopy
	sum partSummary // tmin, tmax, count kept while hot

	// hotChunks says the unsealed partition's table of chunks (ev_N_hot,
	// layout version 8) is committed: until then a writer of version 8
	// creates it with its batch (a partition hot at the upgrade from 7).
	hotChunks atomic.Bool

	// Written by the writer only (under parts.insert), and by sealing
	// once the writer has left the partition.
	nextBlock int64
	stmts     map[string]*sql.Stmt
}

// parts is the state of the parts layout of a store.
type parts struct {
	s *Store

	// partitionEvents is Options.PartitionEvents (tests make it tiny).
	partitionEvents int
	// writeVersion is the layout version this store writes and seals
	// as: partsVersion, an earlier one in tests that make what an earlier
	// build made (set before the first write). Below 3 an IPv4 address
	// takes 16 bytes (ipColumn), below 4 a new partition's ts is absolute
	// (tsBase) and a sealing indexes AS numbers and times, below 5 it
	// indexes addresses.
	writeVersion int
	// timeChunk is how many events a chunk of a partition's list by time
	// holds (defaultTimeChunk; tests make it small).
	timeChunk int
	// addrsRow is the length of a row of a partition's lists by address
	// (defaultAddrsRow; tests make it small).
	addrsRow int
	// rowsChunk is how many ids a chunk of a sealed partition's compact
	// rows spans (defaultRowsChunk; tests make it small).
	rowsChunk int

	// insert serialises this store's writers: ids are given in the order
	// batches commit, and only a writer (or catchUp) moves nextID and the
	// hot partition's blocks.
	insert sync.Mutex
	nextID int64

	// seen is the generation of the database (event_generation) the
	// memory holds (parts_shared.go); refreshMu lets one catchUp run at a
	// time.
	seen      atomic.Int64
	refreshMu sync.Mutex

	mu    sync.RWMutex
	list  []*partition // by n, which is by firstID
	dict  map[int]map[string]int64
	names map[int64]string
	// lastName is the highest id of event_dict.
	lastName int64

	enc *zstd.Encoder
	dec *zstd.Decoder // blocks of several events
	// decOne decodes a block of one event, which may be as large as the
	// largest record the writer accepts.
	decOne *zstd.Decoder
	// blockReaders keeps the readers of blocks' records (and their
	// scratch) between reads of events (records).
	blockReaders sync.Pool

	sealQueue chan *partition
	sealMu    sync.Mutex // one sealing at a time
	stopSeal  context.CancelFunc
	sealDone  chan struct{}
	// sealCtx is the sealing loop's; the loop starts with startSealing
	// (Migrate), not at open: a store that Open opened for reading seals
	// nothing, and Migrate's own writes do not wait behind a seal.
	sealCtx   context.Context
	sealStart sync.Once

	// searchStmts are the sealed partitions' search statements.
	searchStmts stmtCache

	// sealedAsked counts the sealed partitions searches asked, which
	// tests read to see the summaries skip the others.
	sealedAsked atomic.Int64
	// queueAskedAgain counts the ids a read of the notification queue
	// did not find at first (gone, or stored since the memory was caught
	// up), which tests read to see the first look find the others.
	queueAskedAgain atomic.Int64

	// filters is the file the sealed partitions' Bloom filters are
	// mapped from (spillFilters), made once (filtersOnce); filtersFailed
	// says a failure to make or use it was logged.
	filters       *offheap.File
	filtersOnce   sync.Once
	filtersFailed atomic.Bool

	// hashSet holds the hashes of the covered sealed partitions
	// (parts_hashset.go), made at the first writer's lookup
	// (startCovering, coverStart), as is the loop that covers the others
	// (coverLoop: coverCtx, stopCover, coverDone, woken by coverWake).
	// coverRetry, when not 0 (tests), is the loop's first wait before it
	// reads again the partitions it failed to read (coverRetryFirst);
	// coverHook, when set (tests, after open: the loop starts at the
	// first insert), is called by the loop before it covers a partition.
	hashSet    atomic.Pointer[hashSet]
	coverStart sync.Once
	coverCtx   context.Context
	stopCover  context.CancelFunc
	coverDone  chan struct{}
	coverWake  chan struct{}
	coverRetry time.Duration
	coverHook  func(p *partition)
}

// openParts reads the layout's state from the database (catchUp from an
// empty memory): the dictionary, the partitions, the rows of the unsealed
// ones into memory, and queues
// every unsealed partition but the last for sealing (a seal a crash
// interrupted is rolled back whole, so it is done again).
func openParts(ctx context.Context, s *Store, partitionEvents int) (*parts, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(blockLevel),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(blockMaxRaw))
	if err != nil {
		return nil, err
	}
	decOne, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxPartRecord+binary.MaxVarintLen64))
	if err != nil {
		return nil, err
	}
	if partitionEvents <= 0 {
		partitionEvents = defaultPartitionEvents
	}
	ps := &parts{s: s, partitionEvents: partitionEvents, writeVersion: partsVersion, timeChunk: defaultTimeChunk, addrsRow: defaultAddrsRow, rowsChunk: defaultRowsChunk,
		nextID: 1, enc: enc, dec: dec, decOne: decOne,
		dict: map[int]map[string]int64{}, names: map[int64]string{},
		sealQueue: make(chan *partition, 1<<16), sealDone: make(chan struct{}),
		coverDone: make(chan struct{}), coverWake: make(chan struct{}, 1)}
	ps.coverCtx, ps.stopCover = context.WithCancel(context.Background())
	// The memory starts empty, at no generation: the first catching up
	// reads the whole state, in one read transaction.
	ps.seen.Store(-1)
	if err := ps.refresh(ctx); err != nil {
		return nil, err
	}
	// The first catching up queued the unsealed partitions but the last
	// (queueLeft): a seal a crash interrupted is done again.
	ps.sealCtx, ps.stopSeal = context.WithCancel(context.Background())
	return ps, nil
}

func (ps *parts) addName(kind int, value string, id int64) {
	if ps.dict[kind] == nil {
		ps.dict[kind] = map[string]int64{}
	}
	ps.dict[kind][value] = id
	ps.names[id] = value
	ps.lastName = max(ps.lastName, id)
}

// load reads an unsealed partition's rows whose id is above after, with
// their keys, through q into memory, and its next block (the caller holds
// mu, or is the only one to know p), and returns its forms of rows.
func (ps *parts) load(ctx context.Context, q partsQueryer, p *partition, after int64) (hotForm, error) {
	entries, forms, err := ps.readRows(ctx, q, p, after)
	if err != nil {
		return forms, err
	}
	if forms.chunks {
		p.hotChunks.Store(true)
	}
	for _, en := range entries {
		p.add(en)
	}
	return forms, q.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM `+p.table+`_blocks`).Scan(&p.nextBlock)
}

// add appends en to an unsealed partition's copy (the caller holds mu, or
// is the only one to know p).
func (p *partition) add(en partEntry) {
	if p.hot == nil {
		p.hot = &hotCopy{}
	}
	p.hot.add(&en)
	if p.sum.count == 0 || en.ts < p.sum.tmin {
		p.sum.tmin = en.ts
	}
	if p.sum.count == 0 || en.ts > p.sum.tmax {
		p.sum.tmax = en.ts
	}
	p.sum.count++
}

// startSealing starts the loop that seals the queued partitions, once.
func (ps *parts) startSealing() {
	ps.sealStart.Do(func() { go ps.sealLoop(ps.sealCtx) })
}

// partitionOf returns the partition holding id, nil when none does.
func (ps *parts) partitionOf(id int64) *partition {
	if k := partitionIndex(ps.list, id); k >= 0 {
		return ps.list[k]
	}
	return nil
}

// partitionIndex returns the index in list (in order of first ids) of the
// partition holding id, -1 when none does (id before the first).
func partitionIndex(list []*partition, id int64) int {
	return sort.Search(len(list), func(i int) bool { return list[i].firstID > id }) - 1
}

// close stops the sealing and waits for a sealing under way.
func (ps *parts) close() error {
	ps.stopSeal()
	ps.sealStart.Do(func() { close(ps.sealDone) }) // never started
	<-ps.sealDone
	ps.stopCovering()
	ps.searchStmts.close()
	ps.dec.Close()
	ps.decOne.Close()
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	errs := []error{ps.enc.Close()}
	ps.filtersOnce.Do(func() {}) // none made after this
	errs = append(errs, ps.filters.Close())
	for _, p := range ps.list {
		if !p.sealed && p.sealErr != nil {
			errs = append(errs, fmt.Errorf("seal partition %d: %w", p.n, p.sealErr))
		}
	}
	return errors.Join(errs...)
}

// hashKey is the first 8 bytes of a hash, the h8 column.
func hashKey(h event.Hash) uint64 {
	return uint64(h[0])<<56 | uint64(h[1])<<48 | uint64(h[2])<<40 | uint64(h[3])<<32 |
		uint64(h[4])<<24 | uint64(h[5])<<16 | uint64(h[6])<<8 | uint64(h[7])
}

// errLayout is returned when a database holds events in the other layout
// than the one asked for.
var errLayout = errors.New("event layout mismatch")

// setupLayout is run by Migrate: it finds which layout the database holds
// events in, refuses another one asked for, and opens the parts layout
// (which Open has done already when the database had it: openPartsEarly).
func (s *Store) setupLayout(ctx context.Context) error {
	if s.parts != nil {
		return nil // a second Migrate
	}
	hasParts, err := s.hasTable(ctx, "event_layout")
	if err != nil {
		return fmt.Errorf("sqlitestore: event layout: %w", err)
	}
	if hasParts {
		// A conversion from the rows layout left unfinished (parts_migrate.go).
		if err := s.refuseConverting(ctx); err != nil {
			return err
		}
	}
	want := s.opts.EventLayout
	switch {
	case hasParts && want == LayoutRows:
		return fmt.Errorf("sqlitestore: the database keeps events in the %q layout, not %q: %w", LayoutParts, LayoutRows, errLayout)
	case !hasParts && want == LayoutRows:
		s.layout = LayoutRows
		return nil
	case !hasParts:
		// A new database gets the parts layout, unless asked for rows; one
		// that holds events in the events table keeps them there until
		// they are migrated.
		var rows int
		if err := s.write.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)`).Scan(&rows); err != nil {
			return fmt.Errorf("sqlitestore: event layout: %w", err)
		}
		if rows > 0 && want == "" {
			s.log.Info("the database keeps events in the rows layout; vigil migrate-events moves them to the parts layout, smaller and faster",
				"store", "sqlite", "layout", LayoutRows)
			s.layout = LayoutRows
			return nil
		}
		if rows > 0 {
			return fmt.Errorf("sqlitestore: the database keeps events in the %q layout, not %q (they need a migration): %w",
				LayoutRows, LayoutParts, errLayout)
		}
		if err := s.createParts(ctx); err != nil {
			return fmt.Errorf("sqlitestore: create the parts layout: %w", err)
		}
	}
	return s.openLayout(ctx)
}

// openLayout opens the database's parts layout, recording a version this
// build reads as its own.
func (s *Store) openLayout(ctx context.Context) error {
	var version int
	if err := s.write.QueryRowContext(ctx, `SELECT max(version) FROM event_layout`).Scan(&version); err != nil {
		return fmt.Errorf("sqlitestore: event layout: %w", err)
	}
	if version < oldestPartsVersion || version > partsVersion {
		return fmt.Errorf("sqlitestore: parts layout version %d, this build reads %d to %d: %w", version, oldestPartsVersion, partsVersion, errLayout)
	}
	if version < partsVersion {
		if err := s.upgradeLayout(ctx); err != nil {
			return fmt.Errorf("sqlitestore: event layout: %w", err)
		}
	}
	if err := s.createGeneration(ctx); err != nil {
		return fmt.Errorf("sqlitestore: open the parts layout: %w", err)
	}
	ps, err := openParts(ctx, s, s.opts.PartitionEvents)
	if err != nil {
		return fmt.Errorf("sqlitestore: open the parts layout: %w", err)
	}
	s.parts = ps
	s.layout = LayoutParts
	return s.partsWriterCache(ctx)
}

// upgradeLayout records a database of an earlier parts layout version
// as this one, in one write transaction: event_parts gains ts_base
// and sealed_as (version 4), 0 for the partitions there are: their times
// are absolute, and their AS numbers indexed (sealIndexes). The version
// is read again in the transaction, since another process may have
// upgraded the database meanwhile, to this version or a later one, which
// is then refused rather than written back down.
//
// A process of an earlier build that still has the database open keeps
// writing as its version did (absolute times, say, into a partition this
// version made relative): older processes are stopped before a newer
// build opens the database (docs/EVENTSTORE.md, "Upgrades").
func (s *Store) upgradeLayout(ctx context.Context) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT max(version) FROM event_layout`).Scan(&version); err != nil {
		return err
	}
	switch {
	case version > partsVersion:
		return fmt.Errorf("parts layout version %d, this build reads %d to %d: %w", version, oldestPartsVersion, partsVersion, errLayout)
	case version == partsVersion:
		return nil // upgraded by another process meanwhile
	}
	for _, col := range []string{"ts_base", "sealed_as"} {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('event_parts') WHERE name = ?`, col).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE event_parts ADD COLUMN `+col+` INTEGER NOT NULL DEFAULT 0`); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE event_layout SET version = ?`, partsVersion); err != nil {
		return err
	}
	return tx.Commit()
}

// openPartsEarly opens a database's parts layout in Open, when it has
// one: a store that reads without running Migrate (a tool looking at a
// running serve's database) reads the layout's events, not the empty
// events table. A store asked for rows leaves the refusal to Migrate.
func (s *Store) openPartsEarly(ctx context.Context) error {
	if s.opts.EventLayout == LayoutRows {
		return nil
	}
	hasParts, err := s.hasTable(ctx, "event_layout")
	if err != nil {
		return fmt.Errorf("sqlitestore: event layout: %w", err)
	}
	if !hasParts {
		return nil
	}
	if err := s.refuseConverting(ctx); errors.Is(err, ErrConverting) {
		return nil // Migrate refuses it; MigrateEventsToParts finishes it
	} else if err != nil {
		return err
	}
	return s.openLayout(ctx)
}

// createParts creates the layout's tables in a write transaction, so
// that two stores creating it at once record it once.
func (s *Store) createParts(ctx context.Context) error {
	return s.execWrite(ctx, partsSchema+`INSERT INTO event_layout (name, version) SELECT 'parts', `+
		fmt.Sprint(partsVersion)+` WHERE NOT EXISTS (SELECT 1 FROM event_layout)`)
}

// execWrite runs statements in a write transaction of their own.
func (s *Store) execWrite(ctx context.Context, statements string) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, statements); err != nil {
		return err
	}
	return tx.Commit()
}

// hasTable tells whether the database has a table of that name.
func (s *Store) hasTable(ctx context.Context, name string) (bool, error) {
	var n int
	err := s.write.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n)
	return n > 0, err
}

// EventLayout names the layout the store keeps events in (LayoutRows or
// LayoutParts), known once Migrate has run.
func (s *Store) EventLayout() string { return s.layout }
