package sqlitestore

// Lists of a sealed partition's events by address (layout version 5).
// An index of (src_ip, ts) repeats the address, the time and the id in
// every entry, with its B-tree's own bytes (about 20 bytes an event):
// a partition's events are listed instead by the first bytes of their
// address, an IPv4 address's /16 and an IPv6 one's /64, both sides in
// one list, each list in (ts, id) order and compressed with zstd (kept
// as it is when that does not shrink it) like
// the lists by AS number (parts_postings.go). An entry holds the
// difference of its time and id to the one before and the address's
// remaining bytes (2 for IPv4, 8 for IPv6); the times in a unit that
// divides them all (a feed's times in seconds take 2 bytes less an
// entry). A search for an address or
// a prefix reads the lists whose keys its range spans, keeps the
// entries within it, and asks the rows of their ids for the rest of its
// conditions (searchAddrs, offerPostings).

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// addrsVersion is the layout version from which a sealing writes the
// lists by address instead of the indexes of src_ip and dst_ip.
const addrsVersion = 5

// Families of a list's key, its first byte.
const (
	addrKeyV4 = 4 // then the /16's 2 bytes
	addrKeyV6 = 6 // then the /64's 8 bytes
)

// addrPosting is an event in a list by address: its ts (relative to the
// partition's base), id, and the bytes of its address past the key's,
// as a big-endian number.
type addrPosting struct {
	ts, id int64
	low    uint64
}

// addrSplit returns the key of the list a 16-byte address key goes in
// and the address's bytes past it.
func addrSplit(b *[16]byte) (key string, low uint64) {
	if isV4Mapped(b[:]) {
		return string([]byte{addrKeyV4, b[12], b[13]}), uint64(b[14])<<8 | uint64(b[15])
	}
	return string(append([]byte{addrKeyV6}, b[:8]...)), binary.BigEndian.Uint64(b[8:])
}

// addrJoin is addrSplit's inverse: the 16-byte address key of an entry
// of the list key.
func addrJoin(key []byte, low uint64) (b [16]byte, ok bool) {
	switch {
	case len(key) == 3 && key[0] == addrKeyV4:
		b[10], b[11], b[12], b[13] = 0xff, 0xff, key[1], key[2]
		b[14], b[15] = byte(low>>8), byte(low)
		return b, low <= 0xffff
	case len(key) == 9 && key[0] == addrKeyV6:
		copy(b[:8], key[1:])
		binary.BigEndian.PutUint64(b[8:], low)
		return b, true
	}
	return b, false
}

// addrKeyRanges returns the ranges of list keys a range of 16-byte
// address keys [lo, hi] spans: its IPv4 part's /16s, its IPv6 part's
// /64s; none of the latter for a range of IPv4 addresses only, which are
// never listed under an IPv6 key.
func addrKeyRanges(lo, hi []byte) [][2][]byte {
	var out [][2][]byte
	v4only := isV4Mapped(lo) && isV4Mapped(hi)
	for _, r := range ipRanges(lo, hi) {
		switch {
		case r.n == 4:
			out = append(out, [2][]byte{{addrKeyV4, r.lo[0], r.lo[1]}, {addrKeyV4, r.hi[0], r.hi[1]}})
		case !v4only:
			out = append(out, [2][]byte{append([]byte{addrKeyV6}, r.lo[:8]...), append([]byte{addrKeyV6}, r.hi[:8]...)})
		}
	}
	return out
}

// buildAddrs returns the lists of a hot copy's events by address key,
// both sides together, each in (ts, id) order.
func buildAddrs(hot *hotSnap, base int64) map[string][]addrPosting {
	lists := map[string][]addrPosting{}
	for i := range hot.n {
		r := hot.row(i)
		for _, side := range []struct {
			set bool
			ip  *[16]byte
		}{{r.flags&hotSrcIP != 0, &r.srcIP}, {r.flags&hotDstIP != 0, &r.dstIP}} {
			if !side.set {
				continue
			}
			k, low := addrSplit(side.ip)
			lists[k] = append(lists[k], addrPosting{r.ts - base, r.id, low})
		}
	}
	hot.done()
	for _, l := range lists {
		slices.SortFunc(l, func(a, b addrPosting) int {
			return comparePostings(posting{a.ts, a.id}, posting{b.ts, b.id})
		})
	}
	return lists
}

// addrsTables create a partition's lists by address: the lists, each
// compressed, one after the other in the order of their keys, cut in
// rows of parts.addrsRow bytes (_ip), and where each starts and how long it
// is (_ipkeys; a length negated for a list stored uncompressed), and
// under the empty key the length of the rows. A list of 2 KB (as on `vigil bench ingest`'s input) in
// a row of its own took a page of 4 KiB, in a WITHOUT ROWID table a page
// and a half: half the pages wasted. The rows of _ip, numbered from 0,
// fill a page each but for the last.
func addrsTables(t string) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + t + `_ip (id INTEGER PRIMARY KEY, data BLOB NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ` + t + `_ipkeys (key BLOB PRIMARY KEY, pos INTEGER NOT NULL, len INTEGER NOT NULL) WITHOUT ROWID`,
	}
}

// defaultAddrsRow is the length of a row of lists (parts.addrsRow):
// what a page of 4 KiB holds with the row's header (at most 4,061 bytes
// in a table of rowids). Each partition records the length it was
// written with (the _ipkeys entry of the empty key), read with its keys:
// a change of this one needs no new layout version, and tests write
// small rows for lists across several. A partition without the entry
// was written with 4,000.
const defaultAddrsRow = 4000

// writeAddrs writes a partition's lists by address in tx, each
// compressed with enc, in rows of rowBytes.
func writeAddrs(ctx context.Context, tx *sql.Tx, enc *zstd.Encoder, t string, lists map[string][]addrPosting, rowBytes int) error {
	for _, q := range addrsTables(t) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(lists))
	for k := range lists {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	st, err := tx.PrepareContext(ctx, `INSERT INTO `+t+`_ipkeys (key, pos, len) VALUES (?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	// The empty key's entry records the length of the rows: a store
	// reads them with it whatever its own (a test's small rows, an
	// earlier defaultAddrsRow).
	if _, err := st.ExecContext(ctx, []byte{}, rowBytes, 0); err != nil {
		return err
	}
	var all []byte
	for _, k := range keys {
		n := len(all)
		list := encodeAddrs(lists[k], addrLowBytes(k[0]))
		all = enc.EncodeAll(list, all)
		size := len(all) - n
		// zstd's frame takes a dozen bytes: a list of an entry or two,
		// which it does not shrink, is stored as it is, its len negated.
		if size >= len(list) {
			all = append(all[:n], list...)
			size = -len(list)
		}
		if _, err := st.ExecContext(ctx, []byte(k), n, size); err != nil {
			return err
		}
	}
	for i := 0; i*rowBytes < len(all); i++ {
		row := all[i*rowBytes : min((i+1)*rowBytes, len(all))]
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+t+`_ip (id, data) VALUES (?, ?)`, i, row); err != nil {
			return err
		}
	}
	return nil
}

// addrLowBytes is how many bytes an entry's address takes in a list of
// the family.
func addrLowBytes(family byte) int {
	if family == addrKeyV4 {
		return 2
	}
	return 8
}

// encodeAddrs writes a list in (ts, id) order: its length and the unit
// of its times (the largest of 1, 10, ... 10^6 µs that divides them all)
// as uvarints, then each entry's ts less the one before's in that unit
// (a uvarint; the first one's whole, a varint), id less the one before's
// (a varint) and its address's bytes past the key (width of them,
// big-endian).
func encodeAddrs(l []addrPosting, width int) []byte {
	unit := int64(1_000_000)
	for _, e := range l {
		for e.ts%unit != 0 {
			unit /= 10
		}
	}
	b := binary.AppendUvarint(make([]byte, 0, (4+width)*len(l)+8), uint64(len(l)))
	b = binary.AppendUvarint(b, uint64(unit))
	var prev addrPosting
	var low [8]byte
	for i, e := range l {
		if i == 0 {
			b = binary.AppendVarint(b, e.ts/unit)
		} else {
			b = binary.AppendUvarint(b, uint64(e.ts-prev.ts)/uint64(unit))
		}
		b = binary.AppendVarint(b, e.id-prev.id)
		binary.BigEndian.PutUint64(low[:], e.low)
		b = append(b, low[8-width:]...)
		prev = e
	}
	return b
}

// decodeAddrs calls fn with each entry of a list encodeAddrs wrote.
func decodeAddrs(b []byte, width int, fn func(addrPosting)) error {
	n, l := binary.Uvarint(b)
	if l <= 0 || n > uint64(len(b)) {
		return errBadPostings
	}
	b = b[l:]
	unit, l := binary.Uvarint(b)
	if l <= 0 || unit == 0 || unit > 1_000_000 {
		return errBadPostings
	}
	b = b[l:]
	var prev addrPosting
	var low [8]byte
	for i := range n {
		var e addrPosting
		if i == 0 {
			e.ts, l = binary.Varint(b)
			e.ts *= int64(unit)
		} else {
			var d uint64
			d, l = binary.Uvarint(b)
			e.ts = prev.ts + int64(d*unit)
		}
		if l <= 0 {
			return errBadPostings
		}
		b = b[l:]
		id, l := binary.Varint(b)
		if l <= 0 || len(b)-l < width {
			return errBadPostings
		}
		e.id = prev.id + id
		copy(low[8-width:], b[l:l+width])
		e.low = binary.BigEndian.Uint64(low[:])
		b = b[l+width:]
		fn(e)
		prev = e
	}
	if len(b) != 0 {
		return errBadPostings
	}
	return nil
}

// addrBounds is the range of 16-byte address keys f's leading indicator
// (an address or a prefix) asks for.
func (f *partFilter) addrBounds() (lo, hi []byte) {
	if f.ip.Valid() {
		return f.ipBytes[:], f.ipBytes[:]
	}
	return f.lo, f.hi
}

// addrSpan is where a list by address is in its partition's stream of
// lists: from byte pos, len bytes compressed, or -len bytes as they are.
type addrSpan struct {
	key      []byte
	pos, len int64
}

// size is how many bytes of the stream the list takes.
func (s addrSpan) size() int64 { return max(s.len, -s.len) }

// searchAddrs offers a sealed partition's first matches to top, read
// through its lists by address: the lists whose keys the range of f's
// address or prefix spans, each range of keys' rows read at once, their
// entries within the range merged in the order of the search, then
// offered (offerMerged) for the rest of f.
func (ps *parts) searchAddrs(ctx context.Context, p *partition, f *partFilter, top *topHits) error {
	ps.sealedAsked.Add(1)
	lo, hi := f.addrBounds()
	var (
		list     []posting
		lists    int
		stream   []byte // a range of keys' rows
		decoded  []byte // a list, uncompressed
		rowBytes int64
		spans    []addrSpan
	)
	for _, r := range addrKeyRanges(lo, hi) {
		// The entry of the empty key, first in key order, holds the
		// length of the rows the partition was written with.
		spans = spans[:0]
		rowBytes = defaultAddrsRow
		err := ps.searchStmts.each(ctx, ps.s.read, `SELECT key, pos, len FROM `+p.table+`_ipkeys WHERE key = X'' OR key BETWEEN ? AND ? ORDER BY key`, []any{r[0], r[1]},
			func(rows *sql.Rows) error {
				var s addrSpan
				if err := rows.Scan(&s.key, &s.pos, &s.len); err != nil {
					return err
				}
				if len(s.key) == 0 {
					rowBytes = s.pos
					return nil
				}
				spans = append(spans, s)
				return nil
			})
		if err != nil {
			return err
		}
		if len(spans) == 0 {
			continue
		}
		if rowBytes <= 0 {
			return errBadPostings
		}
		// Written in key order, the lists of a range of keys are one
		// piece of the stream.
		first := spans[0].pos / rowBytes
		last := (spans[len(spans)-1].pos + spans[len(spans)-1].size() - 1) / rowBytes
		stream = stream[:0]
		err = ps.searchStmts.each(ctx, ps.s.read, `SELECT data FROM `+p.table+`_ip WHERE id BETWEEN ? AND ? ORDER BY id`, []any{first, last},
			func(r *sql.Rows) error {
				var row sql.RawBytes
				err := r.Scan(&row)
				stream = append(stream, row...)
				return err
			})
		if err != nil {
			return err
		}
		for _, s := range spans {
			from := s.pos - first*rowBytes
			if from < 0 || s.len == 0 || int64(len(stream)) < from+s.size() {
				return errBadPostings
			}
			b := stream[from : from+s.size()]
			if s.len > 0 {
				decoded, err = ps.dec.DecodeAll(b, decoded[:0])
				if err != nil {
					return fmt.Errorf("%w: %w", errBadPostings, err)
				}
				b = decoded
			}
			lists++
			if list, err = readAddrs(s.key, b, lo, hi, list); err != nil {
				return err
			}
		}
	}
	return ps.offerMerged(ctx, p, f, top, list, lists)
}

// readAddrs appends the entries of the list of key (b, uncompressed)
// whose addresses are within [lo, hi] to out.
func readAddrs(key, b, lo, hi []byte, out []posting) ([]posting, error) {
	width := addrLowBytes(key[0])
	first, ok := addrJoin(key, 0)
	lastLow := uint64(1)<<(8*width) - 1
	if width == 8 {
		lastLow = ^uint64(0)
	}
	last, _ := addrJoin(key, lastLow)
	if !ok {
		return out, errBadPostings
	}
	// The list's addresses are first to last; of them, the range asks
	// for those whose bytes past the key are within [minLow, maxLow].
	if bytes.Compare(last[:], lo) < 0 || bytes.Compare(first[:], hi) > 0 {
		return out, nil
	}
	minLow, maxLow := uint64(0), lastLow
	if bytes.Compare(first[:], lo) < 0 {
		minLow = lowOf(lo, width)
	}
	if bytes.Compare(last[:], hi) > 0 {
		maxLow = lowOf(hi, width)
	}
	err := decodeAddrs(b, width, func(e addrPosting) {
		if e.low >= minLow && e.low <= maxLow {
			out = append(out, posting{e.ts, e.id})
		}
	})
	return out, err
}

// lowOf is a 16-byte address key's last width bytes, as a big-endian
// number.
func lowOf(b []byte, width int) uint64 {
	var low [8]byte
	copy(low[8-width:], b[16-width:])
	return binary.BigEndian.Uint64(low[:])
}
