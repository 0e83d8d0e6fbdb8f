package sqlitestore

// Lists of a sealed partition's events by address (layout version 5).
// An index of (src_ip, ts) repeats the address, the time and the id in
// every entry, with its B-tree's own bytes (about 20 bytes an event):
// a partition's events are listed instead by the first bytes of their
// address, an IPv4 address's /16 and an IPv6 one's /64, both sides in
// one list, each list in (ts, id) order and compressed with zstd like
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

// addrsTable creates a partition's lists by address: consecutive
// lists, in the order of their keys, share a row of up to addrsRowBytes
// keyed by its first list's key, a list larger than that has one of
// its own. A table of rowids, not WITHOUT ROWID: its rows keep up to
// 4,061 bytes in their page, where a WITHOUT ROWID table's keep 1,002
// and put the rest in a page of their own; and rows of several lists,
// not one each, since a page holds one list of 2 KB and wastes the rest
// (half the table's pages, on `vigil bench ingest`'s input).
func addrsTable(t string) string {
	return `CREATE TABLE IF NOT EXISTS ` + t + `_ip (key BLOB NOT NULL UNIQUE, data BLOB NOT NULL)`
}

// addrsRowBytes bounds a row of lists: what a page of 4 KiB holds with
// the row's key and header.
const addrsRowBytes = 4000

// writeAddrs writes a partition's lists by address in tx, each
// compressed with enc, into rows of consecutive lists (appendAddrList).
func writeAddrs(ctx context.Context, tx *sql.Tx, enc *zstd.Encoder, t string, lists map[string][]addrPosting) error {
	if _, err := tx.ExecContext(ctx, addrsTable(t)); err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO `+t+`_ip (key, data) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	keys := make([]string, 0, len(lists))
	for k := range lists {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var (
		row, piece []byte
		first      string
	)
	for i, k := range keys {
		piece = appendAddrList(piece[:0], k, enc.EncodeAll(encodeAddrs(lists[k], addrLowBytes(k[0])), nil))
		if len(row) > 0 && len(row)+len(piece) > addrsRowBytes {
			if _, err := st.ExecContext(ctx, []byte(first), row); err != nil {
				return err
			}
			row = row[:0]
		}
		if len(row) == 0 {
			first = k
		}
		row = append(row, piece...)
		if i == len(keys)-1 {
			if _, err := st.ExecContext(ctx, []byte(first), row); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendAddrList appends a list to a row: its key's length (a byte) and
// key, then the compressed list's length (a uvarint) and bytes.
func appendAddrList(row []byte, key string, data []byte) []byte {
	row = append(row, byte(len(key)))
	row = append(row, key...)
	row = binary.AppendUvarint(row, uint64(len(data)))
	return append(row, data...)
}

// eachAddrList calls fn with each list of a row appendAddrList wrote,
// until fn fails.
func eachAddrList(row []byte, fn func(key, data []byte) error) error {
	for len(row) > 0 {
		k := int(row[0])
		if k == 0 || len(row) < 1+k {
			return errBadPostings
		}
		key := row[1 : 1+k]
		n, l := binary.Uvarint(row[1+k:])
		if l <= 0 || n > uint64(len(row)-1-k-l) {
			return errBadPostings
		}
		data := row[1+k+l : 1+k+l+int(n)]
		if err := fn(key, data); err != nil {
			return err
		}
		row = row[1+k+l+int(n):]
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

// searchAddrs offers a sealed partition's first matches to top, read
// through its lists by address: the lists whose keys the range of f's
// address or prefix spans, their entries within the range merged in the
// order of the search, then offered (offerPostings) for the rest of f.
func (ps *parts) searchAddrs(ctx context.Context, p *partition, f *partFilter, top *topHits) error {
	ps.sealedAsked.Add(1)
	lo, hi := f.addrBounds()
	var list []posting
	read := func(key, data []byte) error {
		b, err := ps.dec.DecodeAll(data, nil)
		if err != nil {
			return errBadPostings
		}
		bad := false
		err = decodeAddrs(b, addrLowBytes(key[0]), func(e addrPosting) {
			a, ok := addrJoin(key, e.low)
			bad = bad || !ok
			if bytes.Compare(a[:], lo) >= 0 && bytes.Compare(a[:], hi) <= 0 {
				list = append(list, posting{e.ts, e.id})
			}
		})
		if err == nil && bad {
			err = errBadPostings
		}
		return err
	}
	for _, r := range addrKeyRanges(lo, hi) {
		// The rows from the last one whose first key is at most the
		// range's (it may hold the range's first lists) to the range's end;
		// of their lists, those within the range are read.
		err := ps.searchStmts.each(ctx, ps.s.read,
			`SELECT data FROM `+p.table+`_ip WHERE key >= coalesce((SELECT max(key) FROM `+p.table+`_ip WHERE key <= ?), ?) AND key <= ?`,
			[]any{r[0], r[0], r[1]},
			func(rows *sql.Rows) error {
				var row []byte
				if err := rows.Scan(&row); err != nil {
					return err
				}
				return eachAddrList(row, func(key, data []byte) error {
					if bytes.Compare(key, r[0]) < 0 || bytes.Compare(key, r[1]) > 0 {
						return nil
					}
					return read(key, data)
				})
			})
		if err != nil {
			return err
		}
	}
	// Each list is in (ts, id) order, an event in it once a side: the
	// lists are merged, an event whose two sides match kept once.
	slices.SortFunc(list, comparePostings)
	list = slices.CompactFunc(list, func(a, b posting) bool { return a.id == b.id })
	if !f.asc {
		slices.Reverse(list)
	}
	_, err := ps.offerPostings(ctx, p, f, top, list, false)
	return err
}
