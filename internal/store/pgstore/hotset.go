package pgstore

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// The duplicate check of the hot partition (migration 17). The hot
// partition has no index on hash: keeping one as rows arrive (the
// exclusion constraint on a hash index of migration 14) cost the server
// about 4.4 s of the 7 s it spent storing a million events (docs/
// PERFORMANCE.md, the pg-s39 helper). Each writing process keeps instead
// the hot partition's hashes in memory (hotSet: the first 8 bytes of each
// and where its row is), checks a batch against it before the COPY, and
// confirms a match by the row's id (its key). A sealed partition gets a
// B-tree on hash in bulk (searchIndexes).
//
// Several processes write the same hot partition, so every inserting
// transaction takes one advisory lock (hotLock) before it locks events
// and reserves its ids, and holds it until its rows are copied and
// recorded in its process's set: the batches of all processes are
// stored one after the other, each reserving its ids from the sequence
// under the lock. The lock is the session's, given back just before
// the commit: the next batch copies its rows while this one's commit
// writes and flushes the WAL (a few milliseconds a batch in which the
// server's CPU had nothing to do, every batch waiting). Before it gives
// the lock back, the transaction takes a second advisory lock, commitLock,
// shared, which it holds until it ends (a transaction-level lock is
// released after the commit is visible to a new snapshot).
//
// So when a transaction has hotLock, every id below the next one the
// sequence gives belongs to a transaction that has ended or is
// committing, and the committing ones hold commitLock. Its own process's
// rows are in the set already (recorded before the lock was given back);
// when there are ids it did not reserve above the set's watermark, it
// first waits for the committing transactions (takes commitLock alone a
// moment, waitCommits), and reading the hot partition's rows above the
// watermark then finds every row another process committed since the set
// last read (a rolled-back batch leaves a gap, nothing to read). A match
// in the set is confirmed by its row after the same wait: the row may be
// the process's own, committing.

// hotLock names the advisory lock (sqlkit.LockKey) every transaction that
// inserts events holds from before it reserves its ids until its rows
// are copied (hotHold), and a lookup by hash (candidates) while it reads
// the set.
const hotLock = "vigil hot partition"

// commitLock names the advisory lock every transaction that inserts
// events takes shared before it gives hotLock back, and holds until it
// ends: waitCommits waits for them.
const commitLock = "vigil hot partition commit"

var (
	lockHotSession = `SELECT pg_advisory_lock(` + sqlkit.LockKey(hotLock) + `, 0)`
	// unlockHot gives hotLock back once the transaction holds commitLock.
	unlockHot = `SELECT pg_advisory_xact_lock_shared(` + sqlkit.LockKey(commitLock) + `, 0), pg_advisory_unlock(` + sqlkit.LockKey(hotLock) + `, 0)`
	// waitCommitsSQL takes commitLock alone and gives it back at once.
	waitCommitsSQL = `SELECT pg_advisory_lock(` + sqlkit.LockKey(commitLock) + `, 0), pg_advisory_unlock(` + sqlkit.LockKey(commitLock) + `, 0)`
)

// waitCommits waits for every transaction that has copied events and is
// committing to end: a transaction holding hotLock calls it before it
// reads rows it did not write, which may be theirs. No transaction takes
// commitLock without hotLock, so none can start to commit meanwhile.
func waitCommits(ctx context.Context, tx querier) error {
	rows, err := tx.Query(ctx, waitCommitsSQL)
	if err != nil {
		return fmt.Errorf("wait for the batches committing: %w", err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("wait for the batches committing: %w", err)
	}
	return nil
}

// hotHold is an inserting transaction's hold of hotLock, a lock of its
// connection's session (taken by copyEvents, lockHotSession): given back
// before the commit (release), or after the rollback of a transaction
// that failed holding it (unlockAfterFailure).
type hotHold struct{ held bool }

// release takes commitLock shared, for the rest of tx, and gives hotLock
// back, if held.
func (h *hotHold) release(ctx context.Context, tx pgx.Tx) error {
	if !h.held {
		return nil
	}
	if _, err := tx.Exec(ctx, unlockHot); err != nil {
		return fmt.Errorf("unlock the hot partition: %w", err)
	}
	h.held = false
	return nil
}

// unlockAfterFailure gives hotLock back on conn once its transaction is
// rolled back, if it is still held; when it cannot, it closes the
// connection (the server then releases its locks), which must not go back
// to the pool holding it.
func (h *hotHold) unlockAfterFailure(ctx context.Context, conn *pgxpool.Conn) {
	if !h.held {
		return
	}
	h.held = false
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(`+sqlkit.LockKey(hotLock)+`, 0)`); err != nil {
		conn.Conn().Close(ctx)
	}
}

// hotSet is a process's set of the hashes of one partition, the hot one
// (or, after a roll, the one it closed, kept as prev until the closed
// partitions' set covers it).
type hotSet struct {
	mu   sync.Mutex
	cur  *partitionHashes
	prev *partitionHashes // the partition cur replaced, read to its end
}

// partitionHashes is the set of the hashes of partition part whose ids
// are at most watermark: an open-addressing table of the first 8 bytes of
// each hash (keys; 0 is an empty slot, a key of 0 is stored as 1) and its
// id's offset in the partition (offsets; math.MaxUint32 when it does not
// fit, which the lookup then confirms by hash). 12 bytes a slot; the
// table is at most 80 % full (hotSlots), so at hotLimit hashes it holds
// hotMaxSlots slots, 251,658,240 bytes, and its last growth has the old
// table beside the new one (half of it) for a moment.
type partitionHashes struct {
	part      int64
	watermark int64
	keys      []uint64
	offsets   []uint32
	n         int
}

// hotMaxSlots is the table's size at hotLimit hashes (80 % full, hotSlots):
// five times a power of two, which the table's sizes (hotMinSlots
// doubled) reach exactly.
const (
	hotMinSlots = 5 << 10
	hotMaxSlots = 5 << 22
)

// hotSlots is the size of the table holding n hashes: hotMinSlots
// doubled until they are at most 80 % of it.
func hotSlots(n int) int {
	slots := hotMinSlots
	for n*5 > slots*4 {
		slots *= 2
	}
	return slots
}

func newPartitionHashes(part int64) *partitionHashes {
	return &partitionHashes{part: part, watermark: partitionStart(part) - 1,
		keys: make([]uint64, hotMinSlots), offsets: make([]uint32, hotMinSlots)}
}

// bytes is the memory of the table.
func (p *partitionHashes) bytes() int { return len(p.keys) * 12 }

func (p *partitionHashes) slot(key uint64) int {
	hi, _ := bits.Mul64(key, uint64(len(p.keys)))
	return int(hi)
}

// add records the hash of the row id, unless recorded.
func (p *partitionHashes) add(hash []byte, id int64) {
	if slots := hotSlots(p.n + 1); slots > len(p.keys) {
		p.grow(slots)
	}
	key, off := hashKey(hash), partitionOffset(p.part, id)
	if key == 0 {
		key = 1
	}
	for i := p.slot(key); ; i = (i + 1) % len(p.keys) {
		switch {
		case p.keys[i] == 0:
			p.keys[i], p.offsets[i] = key, off
			p.n++
			return
		case p.keys[i] == key && p.offsets[i] == off:
			return
		}
	}
}

// partitionOffset is id's offset in partition part, or math.MaxUint32.
func partitionOffset(part, id int64) uint32 {
	off := id - partitionStart(part)
	if off < 0 || off >= math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(off)
}

func (p *partitionHashes) grow(slots int) {
	keys, offsets := p.keys, p.offsets
	p.keys, p.offsets, p.n = make([]uint64, slots), make([]uint32, slots), 0
	for i, k := range keys {
		if k == 0 {
			continue
		}
		for j := p.slot(k); ; j = (j + 1) % len(p.keys) {
			if p.keys[j] == 0 {
				p.keys[j], p.offsets[j] = k, offsets[i]
				p.n++
				break
			}
		}
	}
}

// find calls f with the offset of every row whose hash may be hash.
func (p *partitionHashes) find(hash []byte, f func(off uint32)) {
	key := hashKey(hash)
	if key == 0 {
		key = 1
	}
	for i := p.slot(key); p.keys[i] != 0; i = (i + 1) % len(p.keys) {
		if p.keys[i] == key {
			f(p.offsets[i])
		}
	}
}

// readAbove adds the rows of p's partition whose ids are above its
// watermark and below below (math.MaxInt64 for all), and moves the
// watermark to below - 1, or to the highest id read when below is
// math.MaxInt64.
func (p *partitionHashes) readAbove(ctx context.Context, tx querier, below int64) error {
	rows, err := tx.Query(ctx, `SELECT id, hash FROM `+hotTable(p.part)+` WHERE id > $1 AND id < $2`, p.watermark, below)
	if err != nil {
		return fmt.Errorf("read the hot partition's hashes: %w", err)
	}
	var (
		id, top int64
		hash    []byte
	)
	top = p.watermark
	_, err = pgx.ForEachRow(rows, []any{&id, &hash}, func() error {
		if len(hash) >= 8 {
			p.add(hash, id)
		}
		top = max(top, id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the hot partition's hashes: %w", err)
	}
	if below == math.MaxInt64 {
		p.watermark = top
	} else {
		p.watermark = below - 1
	}
	return nil
}

// hotTable is the table the hot set of partition n reads: the partition,
// or events itself for partition 0, which is the hot one only before
// migration 13 (when events is not partitioned).
func hotTable(n int64) string {
	if n == 0 {
		return "events"
	}
	return "events_" + strconv.FormatInt(n, 10)
}

// storedIn returns the hashes of hashes that p's partition holds: the
// set's candidates confirmed by their rows, read by id, after waiting for
// the transactions committing (a candidate may be a row of one of them,
// which the read would not see yet), unless waited says tx has since it
// took hotLock.
func (p *partitionHashes) storedIn(ctx context.Context, tx querier, hashes [][]byte, stored map[string]bool, waited bool) error {
	var ids []int64
	var unplaced [][]byte
	for _, h := range hashes {
		p.find(h, func(off uint32) {
			if off == math.MaxUint32 {
				unplaced = append(unplaced, h)
				return
			}
			ids = append(ids, partitionStart(p.part)+int64(off))
		})
	}
	if len(ids) == 0 && len(unplaced) == 0 {
		return nil
	}
	if !waited {
		if err := waitCommits(ctx, tx); err != nil {
			return err
		}
	}
	want := make(map[string]bool, len(hashes))
	for _, h := range hashes {
		want[string(h)] = true
	}
	rows, err := tx.Query(ctx, `SELECT hash FROM `+hotTable(p.part)+` WHERE id = ANY($1) OR hash = ANY($2)`, ids, unplaced)
	if err != nil {
		return fmt.Errorf("confirm stored hashes: %w", err)
	}
	var hash []byte
	_, err = pgx.ForEachRow(rows, []any{&hash}, func() error {
		if want[string(hash)] {
			stored[string(hash)] = true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("confirm stored hashes: %w", err)
	}
	return nil
}

// check returns in stored the hashes of hashes that partition part, the
// one the batch's ids (from first on) are in, holds: tx holds hotLock
// and has reserved the ids. It first reads into the set the rows other
// processes committed since it last read (every id below first is
// committed or never will be).
func (h *hotSet) check(ctx context.Context, tx pgx.Tx, part, first int64, hashes [][]byte, stored map[string]bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	waited, err := h.sync(ctx, tx, part, first)
	if err != nil {
		return err
	}
	return h.cur.storedIn(ctx, tx, hashes, stored, waited)
}

// sync reads into the set of partition part the rows with ids below
// below it does not hold: tx holds hotLock, and every id below below is
// committed, committing or never will be. When there are any, it first
// waits for the committing transactions (waitCommits), and reports that
// it did: a set that holds every id below below (the process stored the
// batches before) reads nothing, and waits for nothing. A set of an
// earlier partition becomes prev, read to its end (a roll has closed it:
// no insert reaches it), for closedStored. h.mu is held.
func (h *hotSet) sync(ctx context.Context, tx pgx.Tx, part, below int64) (waited bool, err error) {
	if h.cur != nil && h.cur.part == part && h.cur.watermark >= below-1 {
		return false, nil
	}
	if err := waitCommits(ctx, tx); err != nil {
		return false, err
	}
	if h.cur == nil || h.cur.part != part {
		if h.cur != nil && h.cur.part < part {
			old := h.cur
			h.cur = nil
			if err := old.readAbove(ctx, tx, math.MaxInt64); err != nil {
				return true, err
			}
			h.prev = old
		}
		h.cur = newPartitionHashes(part)
	}
	if err := h.cur.readAbove(ctx, tx, below); err != nil {
		h.cur = nil // read again from the start
		return true, err
	}
	return true, nil
}

// candidates returns the partition the ids' sequence is in and the ids of
// its rows whose hash may be one of hashes (a lookup by hash reads them
// by their key, the rest of the partitions by their index on hash), after
// reading the rows committed since the set last read, under hotLock: it
// waits for the batch being stored, if any, and no longer. scan is set
// when a candidate's id does not fit the set (partitionOffset): the
// partition is to be read by hash then.
func (s *Store) candidates(ctx context.Context, hashes [][]byte) (part int64, ids []int64, scan bool, err error) {
	h := &s.hotHashes
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockHot); err != nil {
			return err
		}
		var (
			last   int64
			called bool
		)
		if err := tx.QueryRow(ctx, `SELECT last_value, is_called FROM events_id_seq`).Scan(&last, &called); err != nil {
			return err
		}
		if called {
			last++ // the next id
		}
		part = last >> partitionBits
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, err := h.sync(ctx, tx, part, last); err != nil {
			return err
		}
		for _, hash := range hashes {
			h.cur.find(hash, func(off uint32) {
				if off == math.MaxUint32 {
					scan = true
				}
				ids = append(ids, partitionStart(part)+int64(off))
			})
		}
		return nil
	})
	if err != nil {
		return 0, nil, false, fmt.Errorf("look up the hot partition: %w", err)
	}
	return part, ids, scan, nil
}

// record adds the rows a batch has just copied (ids[i] the id of
// hashes[i]) to the set of their partition, and moves its watermark past
// them: its transaction holds hotLock, so every id between the watermark
// check left and ids was reserved by it. Recorded before the commit, so
// that the next batch of this process does not read them back; should the
// commit fail, the set names rows that do not exist, which the lookups
// confirm by their rows (storedIn) and so never take for stored.
func (h *hotSet) record(part int64, hashes [][]byte, ids []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.cur
	if p == nil || p.part != part || len(ids) == 0 || p.watermark != ids[0]-1 {
		return // read by the next check
	}
	for i, id := range ids {
		p.add(hashes[i], id)
	}
	p.watermark = ids[len(ids)-1]
}

// closedPrev returns the set of a closed partition the process kept
// (read to its end), if it is partition n.
func (h *hotSet) closedPrev(n int64) *partitionHashes {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.prev != nil && h.prev.part == n {
		return h.prev
	}
	return nil
}

// dropPrev forgets the closed partition's set once the closed
// partitions' set covers it.
func (h *hotSet) dropPrev(covered int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.prev != nil && h.prev.part < covered {
		h.prev = nil
	}
}

// closedKeys gives add the keys of partition n, a closed one, from the
// set when it holds n (the partition the process last stored into, or
// the one a roll closed), read to its end first: covering it (cover)
// then reads from the server only the rows the set lacks, if any, not
// every hash of the partition again (a million rows of the bench's run,
// sent by the server and decoded by the client). A closed partition takes
// no more rows: the roll that closed it waited for every transaction
// inserting (SHARE ROW EXCLUSIVE), committing ones too. It reports whether
// it held n.
func (h *hotSet) closedKeys(ctx context.Context, q querier, n int64, add func(keys []uint64)) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.prev
	if h.cur != nil && h.cur.part == n {
		p = h.cur
	}
	if p == nil || p.part != n {
		return false, nil
	}
	if err := p.readAbove(ctx, q, math.MaxInt64); err != nil {
		return false, err
	}
	keys := make([]uint64, 0, 1<<16)
	for _, k := range p.keys {
		if k == 0 {
			continue
		}
		keys = append(keys, k)
		if k == 1 {
			keys = append(keys, 0) // a key of 0 is held as 1
		}
		if len(keys) >= cap(keys)-1 {
			add(keys)
			keys = keys[:0]
		}
	}
	add(keys)
	return true, nil
}
