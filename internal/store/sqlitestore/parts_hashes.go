package sqlitestore

// A sealed partition's events by hash (layout version 6): instead of an
// index of h4 (h8 >> 32) over the compact rows, about 13 bytes an event
// with its B-tree's own, the sealing writes every event's h3 (h8 >> 40,
// the hash's first 3 bytes) and its position in the partition (id less
// the partition's first id) in (h3, position) order, in runs of hashRun
// events, one row a run keyed by its first h3. In a run the h3 after the
// first are each the difference to the one before, Rice-coded (a
// partition of n events has them about 2^24/n apart: 6 or 7 bits at
// 524,288 events), and the positions are of one width, the bits of the
// largest: about 3.5 bytes an event in all. A lookup reads the run of its
// h3 (the row with the greatest key not above it: a run is cut only
// where h3 changes, so each h3 is in one run), and the rows of the
// positions found, whose h8 must be the hash's (a full partition has
// another event of the same h3 for one lookup in 32: a row read more);
// the candidate is then confirmed by its block, as before.

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// hashesVersion is the layout version from which a sealing writes the
// runs of hashes instead of the index of h4 (event_parts.sealed_as).
const hashesVersion = 6

// hashRun is how many events a run holds (more when its last h3 goes
// on): a run of 128 takes about 420 bytes, within what a WITHOUT ROWID
// table keeps of a row in its page.
const hashRun = 128

// hashEntry is an event in the runs: its h3 and its position.
type hashEntry struct {
	h3  int64
	pos uint64
}

func hashTable(t string) string {
	return `CREATE TABLE IF NOT EXISTS ` + t + `_hash (h3 INTEGER PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID`
}

// h3Of is the key of h8 in the runs: its first 3 bytes, signed.
func h3Of(h8 uint64) int64 { return int64(h8) >> 40 }

// buildHashes returns a hot copy's events in (h3, position) order,
// sorted by bucket (the hashes are spread evenly over the h3s).
func buildHashes(hot *hotSnap, firstID int64) []hashEntry {
	all := bucketSorted(hot.n, 1<<24-1, func(i int) hashEntry {
		r := hot.row(i)
		return hashEntry{h3Of(r.h8), uint64(r.id - firstID)}
	}, func(e hashEntry) uint64 { return uint64(e.h3 + 1<<23) }, compareHashEntries)
	hot.done()
	return all
}

func compareHashEntries(a, b hashEntry) int {
	return cmp.Or(cmp.Compare(a.h3, b.h3), cmp.Compare(a.pos, b.pos))
}

// writeHashes writes a partition's runs in tx.
func writeHashes(ctx context.Context, tx *sql.Tx, t string, all []hashEntry) error {
	if _, err := tx.ExecContext(ctx, hashTable(t)); err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO `+t+`_hash (h3, data) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for start := 0; start < len(all); {
		end := min(start+hashRun, len(all))
		for end < len(all) && all[end].h3 == all[end-1].h3 {
			end++
		}
		run := all[start:end]
		if _, err := st.ExecContext(ctx, run[0].h3, encodeHashRun(run)); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// encodeHashRun writes a run: its length as a uvarint, the Rice
// parameter k and the positions' width w, a byte each, then the bits
// (least significant first): each h3 after the first less the one
// before, its quotient by 2^k in unary (ones ended by a zero) and its k
// low bits, then each position in w bits.
func encodeHashRun(run []hashEntry) []byte {
	var span, maxPos uint64
	if len(run) > 1 {
		span = uint64(run[len(run)-1].h3 - run[0].h3)
	}
	for _, e := range run {
		maxPos = max(maxPos, e.pos)
	}
	k := 0
	if n := uint64(len(run)); n > 1 && span/n > 0 {
		k = bits.Len64(span/n) - 1
	}
	w := bits.Len64(maxPos)
	var bw bitWriter
	bw.b = binary.AppendUvarint(make([]byte, 0, 16+len(run)*5), uint64(len(run)))
	bw.b = append(bw.b, byte(k), byte(w))
	for i := 1; i < len(run); i++ {
		d := uint64(run[i].h3 - run[i-1].h3)
		for q := d >> k; q > 0; q-- {
			bw.write(1, 1)
		}
		bw.write(0, 1)
		bw.write(d&(1<<k-1), k)
	}
	for _, e := range run {
		bw.write(e.pos, w)
	}
	return bw.flush()
}

var errBadHashes = errors.New("malformed run of hashes")

// decodeHashRun reads a run encodeHashRun wrote, whose first h3 is
// first, calling fn with each entry.
func decodeHashRun(b []byte, first int64, fn func(hashEntry)) error {
	n, l := binary.Uvarint(b)
	if l <= 0 || len(b) < l+2 || n > uint64(len(b))*8 {
		return errBadHashes
	}
	k, w := int(b[l]), int(b[l+1])
	if k > 32 || w > 63 {
		return errBadHashes
	}
	br := bitReader{b: b[l+2:]}
	h3s := make([]int64, n)
	if n > 0 {
		h3s[0] = first
	}
	for i := uint64(1); i < n; i++ {
		var q uint64
		for {
			bit, ok := br.read(1)
			if !ok {
				return errBadHashes
			}
			if bit == 0 {
				break
			}
			if q++; q > 1<<33 {
				return errBadHashes
			}
		}
		low, ok := br.read(k)
		if !ok {
			return errBadHashes
		}
		h3s[i] = h3s[i-1] + int64(q<<k|low)
	}
	for i := range n {
		pos, ok := br.read(w)
		if !ok {
			return errBadHashes
		}
		fn(hashEntry{h3s[i], pos})
	}
	return nil
}

type bitWriter struct {
	b    []byte
	acc  uint64
	nacc int
}

// write appends the n low bits of v (n at most 63).
func (w *bitWriter) write(v uint64, n int) {
	for n > 0 {
		take := min(n, 64-w.nacc, 32)
		w.acc |= (v & (1<<take - 1)) << w.nacc
		w.nacc += take
		v >>= take
		n -= take
		for w.nacc >= 8 {
			w.b = append(w.b, byte(w.acc))
			w.acc >>= 8
			w.nacc -= 8
		}
	}
}

func (w *bitWriter) flush() []byte {
	if w.nacc > 0 {
		w.b = append(w.b, byte(w.acc))
	}
	return w.b
}

type bitReader struct {
	b   []byte
	pos int // in bits
}

// read returns the next n bits (n at most 63), false past the end.
func (r *bitReader) read(n int) (uint64, bool) {
	if r.pos+n > len(r.b)*8 {
		return 0, false
	}
	var v uint64
	for got := 0; got < n; {
		i, off := r.pos>>3, r.pos&7
		take := min(8-off, n-got)
		v |= uint64(r.b[i]>>off&(1<<take-1)) << got
		got += take
		r.pos += take
	}
	return v, true
}

// hashCands calls fn with the id, ts (relative to p's base) and location of each
// event of sealed partition p (sealed as hashesVersion or later) whose h8
// is one of keys.
func (ps *parts) hashCands(ctx context.Context, p *partition, keys []int64, fn func(id, ts, loc int64)) error {
	ids, err := ps.hashPositions(ctx, p.table, p.firstID, keys)
	if err != nil {
		return err
	}
	if p.sealedAs >= rowsVersion {
		// The runs matched the first 3 bytes, the chunks hold the other 5
		// (a match on both parts of different keys is confirmed by the
		// block, as every candidate is).
		low := make(map[uint64]bool, len(keys))
		for _, k := range keys {
			low[uint64(k)&hashLowMask] = true
		}
		return ps.findInChunks(ctx, p, ids, func(pl *chunkPlace) error {
			if low[pl.low] {
				fn(pl.id, pl.ts-p.base, pl.loc)
			}
			return nil
		})
	}
	want := make(map[int64]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	for start := 0; start < len(ids); start += idsPerQuery {
		chunk := ids[start:min(start+idsPerQuery, len(ids))]
		err := sqlkit.Each(ctx, ps.s.read, `SELECT id, ts, h8, loc FROM `+p.table+` WHERE id IN (`+placeholders(len(chunk))+`)`, int64Args(chunk),
			func(rows *sql.Rows) error {
				var id, ts, h8, loc int64
				if err := rows.Scan(&id, &ts, &h8, &loc); err != nil {
					return err
				}
				if want[h8] {
					fn(id, ts, loc)
				}
				return nil
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// hashPositions returns, in order, the ids (firstID plus position) the
// runs of table give for the h3 of keys: the events whose h8 may be one of
// keys. The keys are taken in h3 order, so that the run read for one
// answers the keys after it up to its last h3 without another query (a
// batch sent again asks its partition's runs one after the other).
func (ps *parts) hashPositions(ctx context.Context, table string, firstID int64, keys []int64) ([]int64, error) {
	h3s := make([]int64, len(keys))
	for i, k := range keys {
		h3s[i] = h3Of(uint64(k))
	}
	slices.Sort(h3s)
	h3s = slices.Compact(h3s)
	st, err := ps.s.read.PrepareContext(ctx, `SELECT h3, data FROM `+table+`_hash WHERE h3 <= ? ORDER BY h3 DESC LIMIT 1`)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var (
		run []hashEntry // the run read last
		ids []int64
	)
	for _, h3 := range h3s {
		if len(run) == 0 || h3 > run[len(run)-1].h3 {
			var (
				first int64
				data  []byte
			)
			run = run[:0]
			err := st.QueryRowContext(ctx, h3).Scan(&first, &data)
			if errors.Is(err, sql.ErrNoRows) {
				continue // below the first run
			}
			if err != nil {
				return nil, err
			}
			if err := decodeHashRun(data, first, func(e hashEntry) { run = append(run, e) }); err != nil {
				return nil, err
			}
		}
		i, _ := slices.BinarySearchFunc(run, h3, func(e hashEntry, h3 int64) int { return cmp.Compare(e.h3, h3) })
		for ; i < len(run) && run[i].h3 == h3; i++ {
			ids = append(ids, firstID+int64(run[i].pos))
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// sealedHashes calls fn with the h8 of every event of sealed partition
// p, a slice of at most coverChunk at a time, which fn must not keep.
// The duplicate check's set (parts_hashset.go) reads them through it.
func (ps *parts) sealedHashes(ctx context.Context, p *partition, fn func(keys []uint64)) error {
	keys := make([]uint64, 0, coverChunk)
	if p.sealedAs >= rowsVersion {
		if err := ps.chunkedHashes(ctx, p, func(h8 uint64) {
			keys = append(keys, h8)
			if len(keys) == cap(keys) {
				fn(keys)
				keys = keys[:0]
			}
		}); err != nil {
			return fmt.Errorf("partition %d's hashes: %w", p.n, err)
		}
		if len(keys) > 0 {
			fn(keys)
		}
		return nil
	}
	err := sqlkit.Each(ctx, ps.s.read, `SELECT h8 FROM `+p.table, nil, func(rows *sql.Rows) error {
		var h int64
		if err := rows.Scan(&h); err != nil {
			return err
		}
		keys = append(keys, uint64(h))
		if len(keys) == cap(keys) {
			fn(keys)
			keys = keys[:0]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("partition %d's hashes: %w", p.n, err)
	}
	if len(keys) > 0 {
		fn(keys)
	}
	return nil
}

// chunkedHashes calls fn with the h8 of every event of sealed partition p
// sealed as rowsVersion or later: the first 3 bytes from its runs, by
// position, the other 5 from its chunks.
func (ps *parts) chunkedHashes(ctx context.Context, p *partition, fn func(h8 uint64)) error {
	var h3s []int32 // by position, + 1 << 24 when set (0: none)
	err := sqlkit.Each(ctx, ps.s.read, `SELECT h3, data FROM `+p.table+`_hash`, nil, func(rows *sql.Rows) error {
		var (
			first int64
			data  sql.RawBytes
		)
		if err := rows.Scan(&first, &data); err != nil {
			return err
		}
		var bad bool
		err := decodeHashRun(data, first, func(e hashEntry) {
			if e.pos >= chunkMaxEvents*64 {
				bad = true
				return
			}
			for uint64(len(h3s)) <= e.pos {
				h3s = append(h3s, 0)
			}
			h3s[e.pos] = int32(e.h3) + 1<<24
		})
		if err == nil && bad {
			err = errBadChunk
		}
		return err
	})
	if err != nil {
		return err
	}
	return sqlkit.Each(ctx, ps.s.read, `SELECT first_id, data FROM `+p.table+`_rows ORDER BY first_id`, nil, func(rows *sql.Rows) error {
		var (
			first int64
			data  sql.RawBytes
		)
		if err := rows.Scan(&first, &data); err != nil {
			return err
		}
		chunk, _, err := ps.readChunk(p, first, data, chunkLocs, nil, nil)
		if err != nil {
			return err
		}
		for i := range chunk {
			pos := chunk[i].id - p.firstID
			if pos < 0 || pos >= int64(len(h3s)) || h3s[pos] == 0 {
				return fmt.Errorf("event %d: not in the runs of hashes: %w", chunk[i].id, errBadChunk)
			}
			fn(uint64(int64(h3s[pos]-1<<24))<<40 | chunk[i].h8)
		}
		return nil
	})
}
