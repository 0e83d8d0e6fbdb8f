package sqlitestore

// Lists of a sealed partition's events by AS number and by time (layout
// version 4).
// A partition holds few AS numbers, each of many events: an index of
// (src_asn, ts) repeats the number, the time and the id in every entry
// (about 21 bytes an event with its B-tree's own), where a list per
// number and side, in time order, holds each event in the difference of
// its time and id to the one before (about 4). Sealing builds them from
// the partition's copy in memory; a search by AS number reads its
// number's lists and asks the rows of the ids, in the order of the
// search, for the rest of its conditions (searchPostings). The events
// by time are one list of the whole partition cut in chunks of
// parts.timeChunk, instead of an index of ts (about 15 bytes an event, the
// list 2 to 4): a search without an address, AS number nor host name
// reads the chunks from the end its order starts at (searchTimes).

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// postingsVersion is the layout version from which a sealing writes the
// lists (event_parts.sealed_as).
const postingsVersion = 4

// posting is an event in a list: its id and its row's ts (relative to
// the partition's base).
type posting struct{ ts, id int64 }

// postingKey is a list's AS number and side (0 source, 1 destination).
type postingKey struct {
	asn  int64
	side int
}

func comparePostings(a, b posting) int {
	return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.id, b.id))
}

// defaultTimeChunk is how many events a chunk of the list by time holds
// (parts.timeChunk; tests make it small).
const defaultTimeChunk = 4096

// buildPostings returns the lists of a hot copy's events by AS number
// and side, and the list of all, each in (ts, id) order.
func buildPostings(hot *hotSnap, base int64) (map[postingKey][]posting, []posting) {
	lists := map[postingKey][]posting{}
	var tmin, tmax int64
	for i := range hot.n {
		r := hot.row(i)
		if i == 0 || r.ts < tmin {
			tmin = r.ts
		}
		if i == 0 || r.ts > tmax {
			tmax = r.ts
		}
		if r.srcASN != 0 {
			k := postingKey{int64(r.srcASN), 0}
			lists[k] = append(lists[k], posting{r.ts - base, r.id})
		}
		if r.dstASN != 0 {
			k := postingKey{int64(r.dstASN), 1}
			lists[k] = append(lists[k], posting{r.ts - base, r.id})
		}
	}
	// The list of all sorted by bucket over the partition's range of
	// times (the same order as the comparisons' alone).
	all := bucketSorted(hot.n, uint64(tmax-tmin), func(i int) posting {
		r := hot.row(i)
		return posting{r.ts - base, r.id}
	}, func(p posting) uint64 { return uint64(p.ts - (tmin - base)) }, comparePostings)
	hot.done()
	for _, l := range lists {
		slices.SortFunc(l, comparePostings)
	}
	return lists, all
}

// postingsTables create a partition's lists: by AS number, one row a
// number and side; by time, one row a chunk, keyed by its first event.
func postingsTables(t string) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + t + `_asn (asn INTEGER NOT NULL, side INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (asn, side)) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS ` + t + `_time (ts INTEGER NOT NULL, id INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (ts, id)) WITHOUT ROWID`,
	}
}

// writePostings writes a partition's lists in tx, each compressed with
// enc (zstd: the differences of a list repeat, from a third of its bytes
// by AS number to nearly all of a chunk by time of events written in
// order).
func writePostings(ctx context.Context, tx *sql.Tx, enc *zstd.Encoder, t string, lists map[postingKey][]posting, times []posting, timeChunk int) error {
	for _, q := range postingsTables(t) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	for start := 0; start < len(times); start += timeChunk {
		chunk := times[start:min(start+timeChunk, len(times))]
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+t+`_time (ts, id, data) VALUES (?, ?, ?)`, chunk[0].ts, chunk[0].id, enc.EncodeAll(encodePostings(chunk), nil)); err != nil {
			return err
		}
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO `+t+`_asn (asn, side, data) VALUES (?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for k, l := range lists {
		if _, err := st.ExecContext(ctx, k.asn, k.side, enc.EncodeAll(encodePostings(l), nil)); err != nil {
			return err
		}
	}
	return nil
}

// encodePostings writes a list in (ts, id) order: its length as a
// uvarint, then each event's ts less the one before's (a uvarint; the
// first one's whole, a varint) and id less the one before's (a varint).
func encodePostings(l []posting) []byte {
	b := binary.AppendUvarint(make([]byte, 0, 4*len(l)+8), uint64(len(l)))
	var prev posting
	for i, e := range l {
		if i == 0 {
			b = binary.AppendVarint(b, e.ts)
		} else {
			b = binary.AppendUvarint(b, uint64(e.ts-prev.ts))
		}
		b = binary.AppendVarint(b, e.id-prev.id)
		prev = e
	}
	return b
}

var errBadPostings = errors.New("malformed list of events")

// readPostings appends a list writePostings wrote, compressed, to out.
func (ps *parts) readPostings(data []byte, out []posting) ([]posting, error) {
	b, err := ps.dec.DecodeAll(data, nil)
	if err != nil {
		return out, fmt.Errorf("%w: %w", errBadPostings, err)
	}
	return decodePostings(b, out)
}

// decodePostings appends a list encodePostings wrote to out.
func decodePostings(b []byte, out []posting) ([]posting, error) {
	n, l := binary.Uvarint(b)
	if l <= 0 || n > uint64(len(b)) {
		return out, errBadPostings
	}
	b = b[l:]
	var prev posting
	for i := range n {
		var (
			e posting
			d uint64
		)
		if i == 0 {
			e.ts, l = binary.Varint(b)
		} else {
			d, l = binary.Uvarint(b)
			e.ts = prev.ts + int64(d)
		}
		if l <= 0 {
			return out, errBadPostings
		}
		b = b[l:]
		id, l := binary.Varint(b)
		if l <= 0 {
			return out, errBadPostings
		}
		b = b[l:]
		e.id = prev.id + id
		out = append(out, e)
		prev = e
	}
	if len(b) != 0 {
		return out, errBadPostings
	}
	return out, nil
}
