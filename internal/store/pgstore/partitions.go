package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// events is partitioned by ranges of ids (migration 13): partition N,
// the table events_N, holds the ids from N << partitionBits up to
// (N + 1) << partitionBits. The ids come from one sequence in the order
// events are stored, so the partition the sequence is in is the hot one,
// the only one inserts reach. A new partition is opened (roll) when a
// batch's observation day is later than the hot partition's, or when the
// hot partition holds hotLimit ids: the sequence is moved to its first id
// while the events table is held in SHARE ROW EXCLUSIVE mode, which waits
// for every insert in progress (they hold ROW EXCLUSIVE from before they
// take their ids until they commit) and holds new ones back. So once a
// roll commits, no insert can reach the partitions before it: they are
// closed, and their search indexes are built in bulk (seal).
//
// 1 << 36 ids a partition: a day of 250,000 events a second is 2^34, and
// ids stay below 2^53 (exact in JSON numbers read as doubles) for 2^17
// partitions.
const partitionBits = 36

// hotLimit is how many ids the hot partition takes before a batch opens
// the next one whatever its day: the hot partition has no search index,
// so a search reads its rows, at most about this many.
const hotLimit = 1 << 24

// partitionStart is the first id of partition num.
func partitionStart(num int64) int64 { return num << partitionBits }

// full reports whether partition num has taken hotLimit ids when last is
// the last id it gave: the next batch opens the partition after it.
func full(num, last int64) bool { return last+1-partitionStart(num) >= hotLimit }

// searchIndexes are the indexes a closed partition gets (seal), as the
// events table had them before migration 13 (partition 0 keeps its own):
// name and definition, after "ON events_N ". A partial one is named as
// its column, and not built when the partition holds no value of it
// (emptyColumns).
var searchIndexes = []struct{ name, def string }{
	{"time", "(time_source, id)"},
	// GetEvent's and closedStored's lookup by hash: the hot partition has
	// none (hotset.go). First after time (which the hot partition has
	// already), so that a closed partition the set of closed hashes does
	// not cover yet is read by it soon after its roll. A partition
	// sealed before migration 17 has its exclusion constraint's index
	// under this name, kept.
	{"hash", "(hash)"},
	{"src_ip", "(src_ip, time_source, id) WHERE src_ip IS NOT NULL"},
	{"dst_ip", "(dst_ip, time_source, id) WHERE dst_ip IS NOT NULL"},
	{"src_asn", "(src_asn, time_source, id) WHERE src_asn IS NOT NULL"},
	{"dst_asn", "(dst_asn, time_source, id) WHERE dst_asn IS NOT NULL"},
	{"src_fqdn", "(src_fqdn, time_source, id) WHERE src_fqdn IS NOT NULL"},
	{"dst_fqdn", "(dst_fqdn, time_source, id) WHERE dst_fqdn IS NOT NULL"},
	{"src_url", "(src_url, time_source, id) WHERE src_url IS NOT NULL"},
	{"dst_url", "(dst_url, time_source, id) WHERE dst_url IS NOT NULL"},
	{"md5", "(md5, time_source, id) WHERE md5 IS NOT NULL"},
	{"sha1", "(sha1, time_source, id) WHERE sha1 IS NOT NULL"},
	{"sha256", "(sha256, time_source, id) WHERE sha256 IS NOT NULL"},
}

// sealLock names the advisory lock a process holds while it builds a
// partition's indexes (sqlkit.LockKey; the second key is the partition's
// number), so that two processes do not build the same ones.
const sealLock = "vigil seal"

// sealMemory is the maintenance_work_mem of a sealing's index builds, as
// measured in docs/EVENTSTORE.md ("Partitions, measured before building
// them").
const sealMemory = "256MB"

// dayFormat is a partition's day as compared here (event_partitions.day
// is a date).
const dayFormat = "2006-01-02"

// observationDay is the UTC day a batch whose first event is e belongs
// to (store.ObservationTime, the rule of the SQLite parts layout too).
func observationDay(e *event.Event, now time.Time) string {
	return store.ObservationTime(e, now).Format(dayFormat)
}

// partitions is what a Store knows of the hot partition, and its sealing.
type partitions struct {
	mu    sync.Mutex
	known bool
	num   int64  // the latest partition
	day   string // its day
	last  int64  // the highest id this process has stored in it

	sealMu     sync.Mutex
	sealing    bool // a goroutine is sealing
	sealAgain  bool // a roll happened while it was
	background context.Context
	stop       context.CancelFunc
	wg         sync.WaitGroup
}

// hot makes sure the hot partition may take a batch of day: it opens the
// next partition when day is later than the hot one's, or the hot one is
// full. Another process may have opened it already: roll then only
// learns of it.
func (s *Store) hot(ctx context.Context, day string) error {
	p := &s.parts
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.known && day <= p.day && !full(p.num, p.last) {
		return nil
	}
	closed, err := s.roll(ctx, day, false)
	if err != nil {
		return fmt.Errorf("open a partition: %w", err)
	}
	s.startCovering()
	if closed {
		s.startSealing()
		s.coverClosed()
	}
	return nil
}

// stored records the highest id a batch stored, for hot's test of a full
// partition.
func (s *Store) stored(id int64) {
	s.parts.mu.Lock()
	s.parts.last = max(s.parts.last, id)
	s.parts.mu.Unlock()
}

// forgetHot makes the next batch read the partitions and the sequence
// again (roll), and repair what it finds: after an insert of an id no
// partition takes, the sequence is past what this process knew.
func (s *Store) forgetHot() {
	s.parts.mu.Lock()
	s.parts.known = false
	s.parts.mu.Unlock()
}

// hotState is what roll reads: the latest partition, its day and the
// last id the sequence gave (one below the next).
type hotState struct {
	num  int64
	day  string
	last int64
}

// readHot reads the latest partition and the sequence.
func readHot(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (hotState, error) {
	var (
		h      hotState
		day    time.Time
		called bool
	)
	if err := q.QueryRow(ctx, `SELECT num, day FROM event_partitions ORDER BY num DESC LIMIT 1`).Scan(&h.num, &day); err != nil {
		return h, err
	}
	if err := q.QueryRow(ctx, `SELECT last_value, is_called FROM events_id_seq`).Scan(&h.last, &called); err != nil {
		return h, err
	}
	if !called {
		h.last-- // the next id is last_value itself
	}
	h.day = day.Format(dayFormat)
	return h, nil
}

// want is the partition a batch of day is to go into, and its day: the
// latest one, or the next when day is later or the latest is full. A
// sequence past the latest partition (moved by hand: a roll commits its
// partitions before it moves the sequence) gets the partition it is in.
// The next partition's day is never before the latest one's: a batch of
// an earlier day that finds the latest full, or SealEvents (today's)
// closing a partition of tomorrow's, opens one of the latest's day, so
// that the next batch of that day does not open yet another.
func (h hotState) want(day string, next bool) (int64, string) {
	num, d := h.num, h.day
	if next || day > d || full(num, h.last) {
		num, d = num+1, max(day, d)
	}
	if in := (h.last + 1) >> partitionBits; in > num {
		num = in
	}
	return num, d
}

// ready reports whether the sequence is in the partition a batch of day
// is to go into.
func (h hotState) ready(day string, next bool) bool {
	num, _ := h.want(day, next)
	return num == h.num && (h.last+1)>>partitionBits == num
}

// roll opens the partition a batch of day is to go into (hotState.want)
// unless it is the hot one already, and moves the sequence to its first
// id; it reports whether a partition was closed, by it or by another
// process since this one last looked. next opens the next partition
// whatever the day. p.mu is held.
//
// Neither step waits for a reader but a follower's EventsAfter, which
// holds SHARE (committedHorizon) for a moment; the lock timeout and its
// retries (withLockTimeout) are for it. The partition is made ahead
// (prepareNext), and only recorded here; or else created detached and
// attached (createPartition), which takes SHARE UPDATE EXCLUSIVE on
// events: reads and inserts go on meanwhile. Only the sequence's move
// holds events in SHARE ROW EXCLUSIVE mode, which waits for the inserts
// in progress and holds new ones back, and no reader: that transaction
// is the lock, a read of the state and setval. What another process has
// done is only learnt: without a lock, so that a process starting does
// not wait for the inserts in progress.
func (s *Store) roll(ctx context.Context, day string, next bool) (closed bool, err error) {
	p := &s.parts
	h, err := readHot(ctx, s.pool)
	if err != nil {
		return false, err
	}
	closed = p.known && h.num > p.num
	if !h.ready(day, next) {
		want, wantDay := h.want(day, next)
		for n := h.num + 1; n <= want; n++ {
			if err := createPartition(ctx, s.pool, n, wantDay); err != nil {
				return closed, fmt.Errorf("partition %d: %w", n, err)
			}
			closed = true
		}
		err := withLockTimeout(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `LOCK TABLE ONLY events IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
			var rerr error
			if h, rerr = readHot(ctx, tx); rerr != nil {
				return rerr
			}
			// setval is not undone by a rollback: it is the last statement,
			// so that a roll failing before it leaves the sequence where
			// inserts can go on.
			if h.last+1 < partitionStart(want) {
				if _, err := tx.Exec(ctx, `SELECT setval('events_id_seq', $1, false)`, partitionStart(want)); err != nil {
					return err
				}
				closed = true
				h.last = partitionStart(want) - 1
			}
			return nil
		})
		if err != nil {
			return closed, err
		}
	}
	p.known, p.num, p.day, p.last = true, h.num, h.day, h.last
	return closed, nil
}

// lockTimeout bounds how long a roll's statement waits for a lock on
// events (lock_timeout): while it waits, whatever its lock conflicts with
// queues behind it. It gives way and tries again (lockTries times).
const (
	lockTimeout = "2s"
	lockTries   = 5
)

// withLockTimeout runs f in a transaction with lockTimeout and commits it,
// trying again while a lock is not had in time.
func withLockTimeout(ctx context.Context, pool *pgxpool.Pool, f func(pgx.Tx) error) error {
	var err error
	for try := range lockTries {
		if try > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(try) * 100 * time.Millisecond):
			}
		}
		err = inTxWith(ctx, pool, "lock_timeout", lockTimeout, f)
		if pgCode(err) != codeLockTimeout {
			return err
		}
	}
	return err
}

// createPartition records partition n, and creates it unless made ahead
// (prepareNext), unless another process has recorded it. It is created
// with what inserts need only, detached, as a table of its own with the
// parent's columns and the check of its range, and attached then: ATTACH
// takes the range from the check without a scan, and holds events in
// SHARE UPDATE EXCLUSIVE mode, which no read or insert conflicts with
// (CREATE TABLE … PARTITION OF would take ACCESS EXCLUSIVE, waiting for
// every read and holding every one back).
func createPartition(ctx context.Context, pool *pgxpool.Pool, n int64, day string) error {
	return withLockTimeout(ctx, pool, func(tx pgx.Tx) error {
		// First, so that a process creating the same partition waits for
		// this one's transaction and then finds it recorded.
		tag, err := tx.Exec(ctx, `INSERT INTO event_partitions (num, day) VALUES ($1, $2) ON CONFLICT (num) DO NOTHING`, n, day)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return makePartition(ctx, tx, n)
	})
}

// partitionLock names the advisory lock (sqlkit.LockKey; the second key is the
// partition's number) under which a partition is created, by a roll or
// ahead of it.
const partitionLock = "vigil partition"

// makePartition creates partition n in tx and attaches it, unless it
// exists: made ahead (prepareNext), which is one transaction, so a
// partition that exists is attached.
func makePartition(ctx context.Context, tx pgx.Tx, n int64) error {
	name := "events_" + strconv.FormatInt(n, 10)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+sqlkit.LockKey(partitionLock)+`, $1)`, int32(n)); err != nil {
		return err
	}
	// In the store's schema, not wherever the search path finds one.
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_class WHERE relname = $1
		AND relnamespace = current_schema()::regnamespace)`, name).Scan(&exists); err != nil || exists {
		return err
	}
	lo, hi := strconv.FormatInt(partitionStart(n), 10), strconv.FormatInt(partitionStart(n+1), 10)
	statements := []string{
		`CREATE TABLE ` + name + ` (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMPRESSION,
			PRIMARY KEY (id), CONSTRAINT ` + name + `_ids CHECK (id >= ` + lo + ` AND id < ` + hi + `))`,
		`CREATE INDEX ` + name + `_time ON ` + name + ` ` + searchIndexes[0].def,
		`ALTER TABLE events ATTACH PARTITION ` + name + ` FOR VALUES FROM (` + lo + `) TO (` + hi + `)`,
	}
	for _, q := range statements {
		if _, err := tx.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// prepareNext creates the partition after the latest one ahead of the
// roll that opens it, in the background after a roll (and at Migrate), so
// that the roll, which a batch waits for, only records it: the ATTACH,
// which waits for a follower's SHARE lock on events (withLockTimeout), is
// done off the insert path. The partition is attached, not only created:
// a migration that alters events alters its partitions, where a detached
// table would be left behind, and its ATTACH at the roll refused. It is
// not recorded in event_partitions, so that readHot and the sealing know
// nothing of it: no id reaches it before the roll moves the sequence
// there (a sequence moved by hand into it does, and the next batch's roll
// records it, as it creates the partition the sequence is in). A
// migration that changes what the hot partition carries (as 14 did) is to
// change the one made ahead too.
func (s *Store) prepareNext(ctx context.Context) error {
	return withLockTimeout(ctx, s.pool, func(tx pgx.Tx) error {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT max(num) + 1 FROM event_partitions`).Scan(&n); err != nil {
			return err
		}
		return makePartition(ctx, tx, n)
	})
}

// SealEvents closes the hot partition and builds its search indexes now,
// as a later day would (bench ingest sizes the store with them).
func (s *Store) SealEvents(ctx context.Context) error {
	s.parts.mu.Lock()
	closed, err := s.roll(ctx, time.Now().UTC().Format(dayFormat), true)
	s.parts.mu.Unlock()
	if err != nil {
		return fmt.Errorf("pgstore: seal events: %w", err)
	}
	if closed {
		s.coverClosed() // as hot does: the next batches need not ask it in SQL
	}
	// Waiting for the partitions a sealing in the background (of this
	// process or another) holds, not skipping them.
	if err := s.sealClosed(ctx, true); err != nil {
		return fmt.Errorf("pgstore: seal events: %w", err)
	}
	return nil
}

// startSealing creates the next partition (prepareNext) and seals the
// closed ones in the background, unless it is being done: the goroutine
// then looks again when it is done.
func (s *Store) startSealing() {
	p := &s.parts
	p.sealMu.Lock()
	defer p.sealMu.Unlock()
	if p.sealing {
		p.sealAgain = true
		return
	}
	p.sealing = true
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			if err := s.prepareNext(p.background); err != nil && p.background.Err() == nil {
				s.log.Warn("creating the next event partition", "store", "postgres", "err", err)
			}
			if err := s.sealClosed(p.background, false); err != nil && p.background.Err() == nil {
				s.log.Warn("sealing event partitions", "store", "postgres", "err", err)
			}
			p.sealMu.Lock()
			if !p.sealAgain || p.background.Err() != nil {
				p.sealing = false
				p.sealMu.Unlock()
				return
			}
			p.sealAgain = false
			p.sealMu.Unlock()
		}
	}()
}

// sealClosed builds the search indexes of every closed partition that
// lacks them. One another goroutine or process is building is skipped,
// or waited for when wait is set.
func (s *Store) sealClosed(ctx context.Context, wait bool) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, `SELECT num FROM event_partitions
		WHERE sealed IS NULL AND num < (SELECT last_value >> $1 FROM events_id_seq) ORDER BY num`, partitionBits)
	if err != nil {
		return err
	}
	nums, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	for _, n := range nums {
		if err := sealPartition(ctx, conn.Conn(), n, wait); err != nil {
			return fmt.Errorf("partition %d: %w", n, err)
		}
		s.forgetEmpty()
	}
	return nil
}

// sealPartition builds the search indexes of closed partition n on conn,
// under the advisory lock that keeps another process from doing it too:
// when another holds it, sealPartition returns at once, or waits for it
// when wait is set (and finds the partition sealed then, or seals it if
// the other failed). An index built before a crash is kept (IF NOT
// EXISTS), one being built is rolled back with its statement.
func sealPartition(ctx context.Context, conn *pgx.Conn, n int64, wait bool) error {
	if locked, err := lockSealing(ctx, conn, n, wait); err != nil || !locked {
		return err
	}
	defer unlockSealing(conn, n)
	var sealed bool
	if err := conn.QueryRow(ctx, `SELECT sealed IS NOT NULL FROM event_partitions WHERE num = $1`, n).Scan(&sealed); err != nil || sealed {
		return err
	}
	name := "events_" + strconv.FormatInt(n, 10)
	empty, err := emptyColumns(ctx, conn, name)
	if err != nil {
		return fmt.Errorf("count the columns: %w", err)
	}
	for _, ix := range searchIndexes {
		if slices.Contains(empty, ix.name) {
			continue
		}
		// One transaction an index, so that a crash keeps those built; the
		// memory of a bulk build is the server's default (64 MB) otherwise,
		// which spills a partition's sort to disk.
		err := inTxWith(ctx, conn, "maintenance_work_mem", sealMemory, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `CREATE INDEX IF NOT EXISTS `+name+`_`+ix.name+` ON `+name+` `+ix.def)
			return err
		})
		if err != nil {
			return err
		}
	}
	_, err = conn.Exec(ctx, `UPDATE event_partitions SET sealed = now(), empty = $2 WHERE num = $1`, n, empty)
	return err
}

// emptyColumns returns the searched columns (those of the partial indexes
// of searchIndexes, each named as its column) that table holds no value
// of, counted in one scan of its rows. The sealing builds no index of
// such a column (each build scans every row, even to find none: 0.78 s
// of the server's CPU for the eight a million events of the bench left
// empty, against 0.08 s for the count, docs/PERFORMANCE.md) and records
// them in event_partitions.empty, by which a search on the column leaves
// the partition out (emptyPartitions). A closed partition takes no
// insert, so the column stays empty.
func emptyColumns(ctx context.Context, conn *pgx.Conn, table string) ([]string, error) {
	var (
		cols  []string
		terms []string
	)
	for _, ix := range searchIndexes {
		if strings.Contains(ix.def, " WHERE ") {
			cols = append(cols, ix.name)
			terms = append(terms, "count("+ix.name+") = 0")
		}
	}
	none := make([]bool, len(cols))
	dest := make([]any, len(cols))
	for i := range none {
		dest[i] = &none[i]
	}
	if err := conn.QueryRow(ctx, `SELECT `+strings.Join(terms, ", ")+` FROM `+table).Scan(dest...); err != nil {
		return nil, err
	}
	empty := []string{}
	for i, c := range cols {
		if none[i] {
			empty = append(empty, c)
		}
	}
	return empty, nil
}

// lockSealing takes the advisory lock of partition n's sealing on conn
// (the session's, not a transaction's: a sealing is one transaction an
// index), waiting for it when wait is set, and reports whether it has it.
func lockSealing(ctx context.Context, conn *pgx.Conn, n int64, wait bool) (bool, error) {
	if wait {
		_, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+sqlkit.LockKey(sealLock)+`, $1)`, int32(n))
		return err == nil, err
	}
	var locked bool
	err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+sqlkit.LockKey(sealLock)+`, $1)`, int32(n)).Scan(&locked)
	return locked, err
}

// unlockSealing releases what lockSealing took, even when the sealing's
// context is done.
func unlockSealing(conn *pgx.Conn, n int64) {
	conn.Exec(context.Background(), `SELECT pg_advisory_unlock(`+sqlkit.LockKey(sealLock)+`, $1)`, int32(n))
}
