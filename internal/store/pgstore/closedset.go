package pgstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vigil-cert/vigil/internal/store/hashset"
)

// The duplicate check's set of the closed partitions' hashes. A batch's
// COPY must not store a hash a closed partition holds (copyEvents); asking
// the closed partitions in SQL probes each one's hash index for every
// event of the batch, a cost that grows with the partitions (a year of
// daily partitions: 365 probes an event). A process instead keeps a Bloom
// filter of the 8 first bytes of every hash of the closed partitions it
// has read (covered; package hashset, tagged, the set sqlitestore keeps of
// its sealed partitions), and asks in SQL only the hashes the filter
// admits (a duplicate, or about 0.2 % of the others), each of the
// partitions whose tags it matches (its own, and about 2.5 % of the
// others of its layer), and every hash of the closed partitions it has
// not read yet. A closed partition is never written again (roll), so a
// partition read once stays covered.

// closedSet is the set and how far it covers.
type closedSet struct {
	mu      sync.Mutex                  // serialises covering
	set     atomic.Pointer[hashset.Set] // made by the first covering
	covered atomic.Int64                // the partitions below this number are in the set
	started sync.Once
}

// hashKey is the set's key of a hash: its first 8 bytes.
func hashKey(hash []byte) uint64 { return binary.BigEndian.Uint64(hash) }

// admitted returns the hashes the set may hold by the covered partition
// (numbered below covered) that may hold them: the partitions named by
// the set's layers that admit each (hashset.Set.Admit, those whose tags
// the hash matches), and those hashes, each once. A hash named by none is
// in no covered partition. A set not made yet covers nothing.
func (c *closedSet) admitted(hashes [][]byte, covered int64) (byPart map[int64][][]byte, all [][]byte) {
	set := c.set.Load()
	if set == nil {
		return nil, nil
	}
	var parts []int64 // the partitions hash h is added to, once each
	for _, h := range hashes {
		parts = parts[:0]
		set.Admit(hashKey(h), func(list []int64) bool {
			for _, n := range list {
				if n < covered && !slices.Contains(parts, n) {
					parts = append(parts, n)
				}
			}
			return true
		})
		if len(parts) > 0 {
			all = append(all, h)
		}
		for _, n := range parts {
			if byPart == nil {
				byPart = make(map[int64][][]byte)
			}
			byPart[n] = append(byPart[n], h)
		}
	}
	return byPart, all
}

// startCovering starts reading the closed partitions into the set, once:
// at a writer's first batch, so that a process that only reads pays
// nothing. Each roll covers the partitions it closed (cover).
func (s *Store) startCovering() {
	s.closed.started.Do(func() { s.coverClosed() })
}

// coverClosed covers the closed partitions in the background (after one
// in progress: cover holds the set's mutex).
func (s *Store) coverClosed() {
	p := &s.parts
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := s.cover(p.background); err != nil && p.background.Err() == nil {
			s.log.Warn("reading the closed event partitions' hashes", "store", "postgres", "err", err)
		}
	}()
}

// coverRows is how many rows of a closed partition one statement of
// cover reads.
var coverRows = 1 << 20

// cover adds the hashes of every closed partition the set does not cover
// yet, in order (a partition is covered once all below it are).
func (s *Store) cover(ctx context.Context) error {
	c := &s.closed
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := readHot(ctx, s.pool)
	if err != nil {
		return err
	}
	hot := (h.last + 1) >> partitionBits // the partition the sequence is in
	// The partitions below it, which may skip numbers (hotState.want).
	rows, err := s.pool.Query(ctx, `SELECT num FROM event_partitions WHERE num >= $1 AND num < $2 ORDER BY num`, c.covered.Load(), hot)
	if err != nil {
		return err
	}
	nums, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	set := c.set.Load()
	if set == nil {
		rows, err := closedRows(ctx, s.pool, nums)
		if err != nil {
			return err
		}
		set = hashset.New(rows)
		c.set.Store(set)
	}
	keys := make([]uint64, 0, 1<<16)
	for _, n := range nums {
		held, err := s.hotHashes.closedKeys(ctx, s.pool, n, func(keys []uint64) { set.Add(keys, n) })
		if err != nil {
			return fmt.Errorf("partition %d: %w", n, err)
		}
		if held {
			c.covered.Store(n + 1)
			continue
		}
		// Partition 0 is the events table of before migration 13, events_0.
		// Read coverRows rows at a time in id order (the key), one
		// statement each, so that no snapshot lives for the minutes a
		// large partition takes (it would hold back VACUUM's horizon for
		// every table).
		table := `events_` + strconv.FormatInt(n, 10)
		for after := int64(math.MinInt64); ; {
			rows, err := s.pool.Query(ctx, `SELECT id, hash FROM `+table+` WHERE id > $1 ORDER BY id LIMIT `+strconv.Itoa(coverRows), after)
			if err != nil {
				return fmt.Errorf("partition %d: %w", n, err)
			}
			var (
				hash []byte
				got  int
			)
			for rows.Next() {
				if err := rows.Scan(&after, &hash); err != nil {
					rows.Close()
					return fmt.Errorf("partition %d: %w", n, err)
				}
				got++
				if len(hash) >= 8 {
					keys = append(keys, hashKey(hash))
				}
				if len(keys) == cap(keys) {
					set.Add(keys, n)
					keys = keys[:0]
				}
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("partition %d: %w", n, err)
			}
			if got < coverRows {
				break
			}
		}
		set.Add(keys, n)
		keys = keys[:0]
		c.covered.Store(n + 1)
	}
	c.covered.Store(max(c.covered.Load(), hot))
	s.hotHashes.dropPrev(c.covered.Load())
	return nil
}

// closedRows estimates the rows of the closed partitions nums from the
// planner's statistics (pg_class.reltuples; -1 before a table's first
// VACUUM or ANALYZE, counted 0), to size the set's first layer as
// sqlitestore sizes its own: a process that starts on a year of
// partitions reads them into one layer, not a dozen of growing ones, each
// a cache line more a lookup and about 0.18 % more of the new hashes
// asked in SQL.
func closedRows(ctx context.Context, pool *pgxpool.Pool, nums []int64) (int64, error) {
	names := make([]string, len(nums))
	for i, n := range nums {
		names[i] = "events_" + strconv.FormatInt(n, 10)
	}
	var rows int64
	err := pool.QueryRow(ctx, `SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint
		FROM unnest($1::text[]) AS t(name) JOIN pg_class c ON c.oid = to_regclass(t.name)`, names).Scan(&rows)
	if err != nil {
		return 0, fmt.Errorf("estimate the closed partitions' rows: %w", err)
	}
	return rows, nil
}
