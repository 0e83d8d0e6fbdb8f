package pgstore

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A sealed partition has no partial index of a searched column it holds
// no value of (emptyColumns), so a search on that column would read its
// rows. Instead the search leaves it out: each side of an indicator's
// search (matchSQL) excludes the id ranges of the sealed partitions
// recorded as empty in that column, which the planner prunes (a condition
// on id, the partition key, as literals). Leaving one out is exact: the
// side's condition is strict in its column, and a closed partition takes
// no insert. A partition sealed by another process is known here after
// emptyFresh at most; until then a search reads its rows, and finds the
// same.

// emptyFresh is how long a Store uses what it read of the partitions'
// empty columns before it reads them again.
const emptyFresh = 10 * time.Second

// idRange is the ids from lo up to hi.
type idRange struct{ lo, hi int64 }

// emptyRanges maps a column to the id ranges of the sealed partitions
// that hold no value of it, in order, adjacent ones merged.
type emptyRanges map[string][]idRange

// leaveOut returns the condition that leaves the ranges of col out, ""
// when there are none.
func (e emptyRanges) leaveOut(col string) string {
	ranges := e[col]
	if len(ranges) == 0 {
		return ""
	}
	terms := make([]string, len(ranges))
	for i, r := range ranges {
		terms[i] = "(id < " + strconv.FormatInt(r.lo, 10) + " OR id >= " + strconv.FormatInt(r.hi, 10) + ")"
	}
	return strings.Join(terms, " AND ")
}

// emptyCache is what a Store last read of the partitions' empty columns.
type emptyCache struct {
	mu sync.Mutex
	// read is when they were last read, or tried: zero, to be read.
	read   time.Time
	ranges emptyRanges
}

// emptyPartitions returns the sealed partitions' empty columns, read again
// when what the Store knows is older than emptyFresh or was forgotten
// (forgetEmpty). When they cannot be read it returns what it knew, or
// nothing: a search then reads more partitions, and finds the same. A
// failed read is tried again after emptyFresh too, so that a database
// away costs one query and one warning every emptyFresh, not each search.
func (s *Store) emptyPartitions(ctx context.Context) emptyRanges {
	c := &s.empty
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.read.IsZero() && time.Since(c.read) < emptyFresh {
		return c.ranges
	}
	ranges, err := readEmpty(ctx, s)
	if err != nil {
		if ctx.Err() == nil { // not the search given up
			s.log.Warn("reading the event partitions' empty columns", "store", "postgres", "err", err)
			c.read = time.Now()
		}
		return c.ranges
	}
	c.ranges, c.read = ranges, time.Now()
	return ranges
}

// forgetEmpty makes the next search read the empty columns again (after
// a sealing of this process).
func (s *Store) forgetEmpty() {
	s.empty.mu.Lock()
	s.empty.read = time.Time{}
	s.empty.mu.Unlock()
}

// readEmpty reads the empty columns of every sealed partition.
func readEmpty(ctx context.Context, s *Store) (emptyRanges, error) {
	rows, err := s.pool.Query(ctx, `SELECT num, empty FROM event_partitions
		WHERE sealed IS NOT NULL AND cardinality(empty) > 0 ORDER BY num`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ranges := emptyRanges{}
	for rows.Next() {
		var (
			num   int64
			empty []string
		)
		if err := rows.Scan(&num, &empty); err != nil {
			return nil, err
		}
		lo, hi := partitionStart(num), partitionStart(num+1)
		for _, col := range empty {
			rs := ranges[col]
			if n := len(rs); n > 0 && rs[n-1].hi == lo {
				rs[n-1].hi = hi
			} else {
				rs = append(rs, idRange{lo, hi})
			}
			ranges[col] = rs
		}
	}
	return ranges, rows.Err()
}
