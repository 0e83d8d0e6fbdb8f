package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/event"
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

// searchIndexes are the indexes a closed partition gets (seal), as the
// events table had them before migration 13 (partition 0 keeps its own):
// name and definition, after "ON events_N ".
var searchIndexes = []struct{ name, def string }{
	{"time", "(time_source, id)"},
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

// sealLock is the first key of the advisory lock a process holds while it
// builds a partition's indexes (the second is the partition's number), so
// that two processes do not build the same ones.
const sealLock = 0x7365616c // "seal"

// dayFormat is a partition's day as compared here (event_partitions.day
// is a date).
const dayFormat = "2006-01-02"

// observationDay is the UTC day of e's time.observation (of now without
// one), at most the day after now's: the rule of the SQLite parts layout.
// It is no bound: a batch of an earlier day than the hot partition's goes
// into the hot partition.
func observationDay(e *event.Event, now time.Time) string {
	t, ok := e.Time("time.observation")
	if !ok {
		t = now
	}
	if limit := now.Add(24 * time.Hour); t.After(limit) {
		t = limit
	}
	return t.UTC().Format(dayFormat)
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
	if p.known && day <= p.day && p.last-partitionStart(p.num) < hotLimit {
		return nil
	}
	closed, err := s.roll(ctx, day, false)
	if err != nil {
		return fmt.Errorf("open a partition: %w", err)
	}
	if closed {
		s.startSealing()
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
// latest one, or the next when day is later or the latest is full. After
// a roll that created a partition but failed to commit the sequence's
// move, the sequence may be past the latest partition: the partition it
// is in then.
func (h hotState) want(day string, next bool) (int64, string) {
	num, d := h.num, h.day
	if next || day > d || h.last+1-partitionStart(num) >= hotLimit {
		num, d = num+1, day
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
// id; it reports whether a partition was closed. next opens the next
// partition whatever the day. What another process has done is only
// learnt: without a lock, so that a process starting does not wait for
// the inserts in progress. p.mu is held.
func (s *Store) roll(ctx context.Context, day string, next bool) (closed bool, err error) {
	p := &s.parts
	h, err := readHot(ctx, s.pool)
	if err != nil {
		return false, err
	}
	if !h.ready(day, next) {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return false, err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `LOCK TABLE ONLY events IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return false, err
		}
		if h, err = readHot(ctx, tx); err != nil {
			return false, err
		}
		want, wantDay := h.want(day, next)
		for n := h.num + 1; n <= want; n++ {
			if err := createPartition(ctx, tx, n, wantDay); err != nil {
				return false, fmt.Errorf("partition %d: %w", n, err)
			}
			closed = true
		}
		if h.last+1 < partitionStart(want) {
			if _, err := tx.Exec(ctx, `SELECT setval('events_id_seq', $1, false)`, partitionStart(want)); err != nil {
				return false, err
			}
			closed = true
			h.last = partitionStart(want) - 1
		}
		if err := tx.Commit(ctx); err != nil {
			return false, err
		}
		if want > h.num {
			h.num, h.day = want, wantDay
		}
	}
	p.known, p.num, p.day, p.last = true, h.num, h.day, h.last
	return closed, nil
}

// createPartition creates partition n, with what inserts need only.
func createPartition(ctx context.Context, tx pgx.Tx, n int64, day string) error {
	name := "events_" + strconv.FormatInt(n, 10)
	statements := []string{
		`CREATE TABLE ` + name + ` PARTITION OF events FOR VALUES FROM (` + strconv.FormatInt(partitionStart(n), 10) +
			`) TO (` + strconv.FormatInt(partitionStart(n+1), 10) + `)`,
		`CREATE UNIQUE INDEX ` + name + `_hash ON ` + name + ` (hash)`,
		`CREATE INDEX ` + name + `_brin ON ` + name + ` USING brin (time_source)`,
	}
	for _, q := range statements {
		if _, err := tx.Exec(ctx, q); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO event_partitions (num, day) VALUES ($1, $2)`, n, day)
	return err
}

// SealEvents closes the hot partition and builds its search indexes now,
// as a later day would (bench ingest sizes the store with them).
func (s *Store) SealEvents(ctx context.Context) error {
	s.parts.mu.Lock()
	_, err := s.roll(ctx, time.Now().UTC().Format(dayFormat), true)
	s.parts.mu.Unlock()
	if err != nil {
		return fmt.Errorf("pgstore: seal events: %w", err)
	}
	s.parts.wg.Wait() // a sealing in the background would skip what it holds
	if err := s.sealClosed(ctx); err != nil {
		return fmt.Errorf("pgstore: seal events: %w", err)
	}
	return nil
}

// startSealing seals the closed partitions in the background, unless it
// is being done: the goroutine then looks again when it is done.
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
			if err := s.sealClosed(p.background); err != nil && p.background.Err() == nil {
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
// lacks them, skipping one another process is building.
func (s *Store) sealClosed(ctx context.Context) error {
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
		if err := sealPartition(ctx, conn.Conn(), n); err != nil {
			return fmt.Errorf("partition %d: %w", n, err)
		}
	}
	return nil
}

// sealPartition builds the search indexes of closed partition n on conn,
// under the advisory lock that keeps another process from doing it too.
// An index built before a crash is kept (IF NOT EXISTS), one being built
// is rolled back with its statement.
func sealPartition(ctx context.Context, conn *pgx.Conn, n int64) error {
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, int32(sealLock), int32(n)).Scan(&locked); err != nil {
		return err
	}
	if !locked {
		return nil
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1, $2)`, int32(sealLock), int32(n))
	var sealed bool
	if err := conn.QueryRow(ctx, `SELECT sealed IS NOT NULL FROM event_partitions WHERE num = $1`, n).Scan(&sealed); err != nil || sealed {
		return err
	}
	name := "events_" + strconv.FormatInt(n, 10)
	for _, ix := range searchIndexes {
		if _, err := conn.Exec(ctx, `CREATE INDEX IF NOT EXISTS `+name+`_`+ix.name+` ON `+name+` `+ix.def); err != nil {
			return err
		}
	}
	_, err := conn.Exec(ctx, `UPDATE event_partitions SET sealed = now() WHERE num = $1`, n)
	return err
}
