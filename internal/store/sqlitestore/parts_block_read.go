package sqlitestore

// Reading a block's columns back into records: all of them, or only
// those wanted, the others passed over by their values' lengths (the
// format is parts_block.go's).

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/vigil-cert/vigil/internal/event"
)

// shapeField is a field as a shape tells it.
type shapeField struct {
	code   uint64
	key    []byte
	row    bool
	header uint64
	pieces int // a row's
}

// columnReader rebuilds the records of a block's columns.
type columnReader struct {
	headers [][]byte
	shapes  []byte
	at      int // in shapes
	streams [][]byte
	index   map[streamKey]int
	// known are the block's shapes so far; the current record's shape is
	// fields, stream the stream of each of its values, and plainAt, by
	// field, the index among the values of a field of mode 0.
	known   []readShape
	fields  []shapeField
	stream  []int
	plainAt []int
	values  [][]byte
	refs    []uint64
	// shapeID is the current record's shape (an index in known);
	// skipped counts by shape the records passed over since the last one
	// written, and pending by stream the values they left to pass
	// (skipTo).
	shapeID int
	skipped []int
	pending []int
	// passed says records were passed over since the last skipTo, owed
	// that pending may hold values to pass.
	passed, owed bool
	// The known shapes' fields, streams and plainAt are parts of these
	// arrays, reused from block to block.
	fieldArena []shapeField
	intArena   []int
	out        []byte
	// The records are appended to out from base on, together at most
	// limit bytes.
	base, limit int
	// withoutRaw leaves raw out of the records (skip is its index in
	// fields, -1 when the record has none): the notifier's read, which
	// never shows it (store.NotificationWithheld), and which raw would
	// make several times larger. An event's hash does not cover raw.
	withoutRaw bool
	skip       int
}

// reset readies r for a block, keeping its arrays: the records are
// appended from base on, together at most limit bytes.
func (r *columnReader) reset(base, limit int, withoutRaw bool) {
	if r.index == nil {
		r.index = map[streamKey]int{}
	}
	clear(r.index)
	r.headers, r.streams, r.known = r.headers[:0], r.streams[:0], r.known[:0]
	r.fieldArena, r.intArena = r.fieldArena[:0], r.intArena[:0]
	clear(r.skipped)
	r.skipped, r.pending = r.skipped[:0], r.pending[:0]
	r.at, r.shapeID, r.passed, r.owed = 0, 0, false, false
	r.base, r.limit, r.withoutRaw, r.skip = base, limit, withoutRaw, -1
}

// readShape is a shape read, with its streams, and the index in fields
// of the field left out (raw, with withoutRaw), -1 for none.
type readShape struct {
	fields          []shapeField
	stream, plainAt []int
	skip            int
}

// rawRecordCode is raw's code in a record.
var rawRecordCode = event.RecordCode("raw")

// shape reads the next record's shape: one the block had, or a new one.
func (r *columnReader) shape() error {
	id, l := binary.Uvarint(r.shapes[r.at:])
	if l <= 0 || id > uint64(len(r.known)) {
		return errBadBlock
	}
	r.at += l
	r.shapeID = int(id)
	if id < uint64(len(r.known)) {
		k := &r.known[id]
		r.fields, r.stream, r.plainAt, r.skip = k.fields, k.stream, k.plainAt, k.skip
		return nil
	}
	b, at, ok := stringAt(r.shapes, r.at)
	if !ok {
		return errBadBlock
	}
	r.at = at
	count, i, ok := uvarintAt(b, 0)
	if !ok || count > uint64(len(b)) {
		return errBadBlock
	}
	start := len(r.fieldArena)
	var mode uint64
	for range count {
		var f shapeField
		if f.code, i, ok = uvarintAt(b, i); !ok {
			return errBadBlock
		}
		if f.code == 0 {
			if f.key, i, ok = stringAt(b, i); !ok {
				return errBadBlock
			}
		}
		if mode, i, ok = uvarintAt(b, i); !ok || mode > 1 {
			return errBadBlock
		}
		if f.row = mode == 1; f.row {
			var pieces uint64
			if f.header, i, ok = uvarintAt(b, i); !ok || f.header >= uint64(len(r.headers)) {
				return errBadBlock
			}
			if pieces, i, ok = uvarintAt(b, i); !ok || pieces == 0 || pieces > maxPieces {
				return errBadBlock
			}
			f.pieces = int(pieces)
		}
		r.fieldArena = append(r.fieldArena, f)
	}
	if i != len(b) {
		return errBadBlock
	}
	fields := r.fieldArena[start:len(r.fieldArena):len(r.fieldArena)]
	start = len(r.intArena)
	plain := 0
	for _, f := range fields {
		r.intArena = append(r.intArena, plain)
		if !f.row {
			plain++
		}
	}
	r.fields, r.plainAt = fields, r.intArena[start:len(r.intArena):len(r.intArena)]
	start = len(r.intArena)
	name := func(k streamKey) {
		s, ok := r.index[k]
		if !ok {
			s = len(r.index)
			r.index[k] = s
		}
		r.intArena = append(r.intArena, s)
	}
	for _, f := range fields {
		if !f.row {
			name(streamKey{code: f.code, key: string(f.key)})
		}
	}
	for _, f := range fields {
		for j := range f.pieces {
			name(streamKey{code: f.code, key: string(f.key), piece: j + 1})
		}
	}
	r.stream = r.intArena[start:len(r.intArena):len(r.intArena)]
	r.skip = -1
	if r.withoutRaw {
		r.skip = slices.IndexFunc(fields, func(f shapeField) bool { return f.code == rawRecordCode })
	}
	r.known = append(r.known, readShape{r.fields, r.stream, r.plainAt, r.skip})
	return nil
}

// next takes the next value of stream i: its bytes, or a reference.
func (r *columnReader) next(i int) ([]byte, uint64, error) {
	if i >= len(r.streams) {
		return nil, 0, errBadBlock
	}
	s := r.streams[i]
	if len(s) < 2 {
		return nil, 0, errBadBlock
	}
	form := s[0]
	if form == 5 || form == 6 {
		k, rest, ok := uvarintAt(s, 1)
		if !ok || k >= uint64(len(r.fields)) || r.fields[k].row {
			return nil, 0, errBadBlock
		}
		r.streams[i] = s[rest:]
		return nil, 1 + 2*k + uint64(form-5), nil
	}
	b, rest, ok := stringAt(s, 1)
	if !ok || form > 4 {
		return nil, 0, errBadBlock
	}
	r.streams[i] = s[rest:]
	if form == 0 {
		return b, 0, nil
	}
	digits := make([]byte, 0, 2*len(b)+2)
	quoted := form > 2
	if quoted {
		digits = append(digits, '"')
		form -= 2
	}
	digits = hex.AppendEncode(digits, b)
	if form == 2 {
		for j := range digits {
			if c := digits[j]; c >= 'a' && c <= 'f' {
				digits[j] = c - 'a' + 'A'
			}
		}
	}
	if quoted {
		digits = append(digits, '"')
	}
	return digits, 0, nil
}

// record rebuilds the next record at the end of r.out and returns its
// length.
func (r *columnReader) record() (int, error) {
	if err := r.shape(); err != nil {
		return 0, err
	}
	return r.write()
}

// write rebuilds the record of the shape just read (shape) at the end of
// r.out and returns its length.
func (r *columnReader) write() (int, error) {
	r.values, r.refs = r.values[:0], r.refs[:0]
	for j, s := range r.stream {
		v, ref, err := r.next(s)
		if err != nil {
			return 0, err
		}
		if ref != 0 && j < len(r.stream)-r.piecesOf() {
			return 0, errBadBlock // a field's value is no reference
		}
		r.values = append(r.values, v)
		r.refs = append(r.refs, ref)
	}
	// A reference is to a value read above, of a field of mode 0.
	for j, ref := range r.refs {
		if ref != 0 {
			v := r.values[r.plainAt[(ref-1)/2]]
			if ref%2 == 0 {
				if len(v) < 2 {
					return 0, errBadBlock
				}
				v = v[1 : len(v)-1]
			}
			r.values[j] = v
		}
	}
	start := len(r.out)
	count := len(r.fields)
	if r.skip >= 0 {
		count--
	}
	r.out = binary.AppendUvarint(r.out, uint64(count))
	// The values of the fields of mode 0 come first, then the pieces.
	plain, pieces := r.values, r.values[len(r.values)-r.piecesOf():]
	for k, f := range r.fields {
		if k == r.skip {
			if f.row {
				pieces = pieces[f.pieces:]
			} else {
				plain = plain[1:]
			}
			continue
		}
		r.out = binary.AppendUvarint(r.out, f.code)
		if f.code == 0 {
			r.out = binary.AppendUvarint(r.out, uint64(len(f.key)))
			r.out = append(r.out, f.key...)
		}
		if !f.row {
			r.out = binary.AppendUvarint(r.out, uint64(len(plain[0])))
			r.out = append(r.out, plain[0]...)
			plain = plain[1:]
			continue
		}
		// A row's length is known before its bytes are written.
		n := len(r.headers[f.header]) + f.pieces - 1
		for _, p := range pieces[:f.pieces] {
			n += len(p)
		}
		if len(r.out)-r.base+n > r.limit {
			return 0, fmt.Errorf("%w: larger than %d bytes", errBadBlock, r.limit)
		}
		r.out = binary.AppendUvarint(r.out, uint64(n))
		r.out = append(r.out, r.headers[f.header]...)
		for j, p := range pieces[:f.pieces] {
			if j > 0 {
				r.out = append(r.out, ',')
			}
			r.out = append(r.out, p...)
		}
		pieces = pieces[f.pieces:]
	}
	return len(r.out) - start, nil
}

// decodeColumns returns the records of a block's columns, together at
// most limit bytes.
func decodeColumns(b []byte, limit int) ([][]byte, error) {
	out, ends, err := appendColumns(make([]byte, 0, 2*len(b)), nil, b, nil, limit, false)
	if err != nil {
		return nil, err
	}
	recs := make([][]byte, len(ends))
	at := 0
	for j, end := range ends {
		recs[j] = out[at:end:end]
		at = end
	}
	return recs, nil
}

// appendColumns appends the records of a block's columns, together at
// most limit bytes, to dst end to end, and where each ends in dst to
// ends: a reader of many blocks reuses both instead of making a buffer
// for each block. withoutRaw leaves raw out of the records
// (columnReader.withoutRaw).
//
// With slots (ascending, distinct), only the records at those places
// are written, in that order: a page of results or GetEvent wants a few
// events of a block, and writing back all of its records cost several
// times decompressing it. Of the records before the last one wanted only
// the shapes are read and their values passed by their lengths (skipTo);
// those after it are not read at all, so a damage there goes unseen, as
// it does in a block not read; a slot past the block's records is an
// error.
func appendColumns(dst []byte, ends []int, b []byte, slots []int, limit int, withoutRaw bool) ([]byte, []int, error) {
	var r columnReader
	return r.appendBlockColumns(dst, ends, columnsOf{b: b}, slots, limit, withoutRaw)
}

// columnsOf are a block's columns as read: b decompressed, and, for a
// block of blockSplit (split), the streams held apart, apart.
type columnsOf struct {
	b, apart []byte
	split    bool
}

// appendBlockColumns is appendColumns of a block's columns, with r's
// memory, kept from one block to the next (a reader of many blocks
// reuses it).
func (r *columnReader) appendBlockColumns(dst []byte, ends []int, cols columnsOf, slots []int, limit int, withoutRaw bool) ([]byte, []int, error) {
	b := cols.b
	n, i, ok := uvarintAt(b, 0)
	if !ok || n > uint64(len(b)) {
		return dst, ends, errBadBlock
	}
	if len(slots) > 0 && uint64(slots[len(slots)-1]) >= n {
		return dst, ends, fmt.Errorf("%w: slot %d of %d records", errBadBlock, slots[len(slots)-1], n)
	}
	r.reset(len(dst), limit, withoutRaw)
	defer func() { r.out = nil }() // dst is the caller's
	if r.headers, i, ok = stringsAt(b, i, r.headers); !ok {
		return dst, ends, errBadBlock
	}
	if r.shapes, i, ok = stringAt(b, i); !ok {
		return dst, ends, errBadBlock
	}
	if cols.split {
		r.streams, ok = splitStreamsAt(b, i, cols.apart, r.streams)
	} else {
		r.streams, _, ok = stringsAt(b, i, r.streams)
	}
	if !ok {
		return dst, ends, errBadBlock
	}
	r.out = dst
	if slots != nil {
		for k, next := 0, 0; next < len(slots); k++ {
			if err := r.shape(); err != nil {
				return dst, ends, err
			}
			if k < slots[next] {
				for len(r.skipped) <= r.shapeID {
					r.skipped = append(r.skipped, 0)
				}
				r.skipped[r.shapeID]++
				r.passed = true
				continue
			}
			if r.passed || r.owed {
				if err := r.skipTo(); err != nil {
					return dst, ends, err
				}
			}
			if _, err := r.write(); err != nil {
				return dst, ends, err
			}
			ends = append(ends, len(r.out))
			next++
		}
		return r.out, ends, nil
	}
	for range n {
		if _, err := r.record(); err != nil {
			return dst, ends, err
		}
		ends = append(ends, len(r.out))
	}
	if r.at != len(r.shapes) {
		return dst, ends, errBadBlock
	}
	return r.out, ends, nil
}

// skipTo passes, in the streams of the current record, the values of the
// records passed over before it: each stream's values at once, by their
// lengths (skipValues), the records' shapes read but their values not
// rebuilt. A value passed is checked for its form and length only (a
// reference's field is not), which keeps each stream where its next
// value starts; the values written are checked in full (next, write).
func (r *columnReader) skipTo() error {
	if n := len(r.pending); n < len(r.streams) {
		r.pending = slices.Grow(r.pending, len(r.streams)-n)[:len(r.streams)]
		clear(r.pending[n:])
	}
	r.passed, r.owed = false, true
	for id, c := range r.skipped {
		if c == 0 {
			continue
		}
		for _, s := range r.known[id].stream {
			if s >= len(r.streams) {
				return errBadBlock
			}
			r.pending[s] += c
		}
		r.skipped[id] = 0
	}
	for _, s := range r.stream {
		if s >= len(r.streams) {
			return errBadBlock
		}
		if c := r.pending[s]; c > 0 {
			rest, ok := skipValues(r.streams[s], c)
			if !ok {
				return errBadBlock
			}
			r.streams[s], r.pending[s] = rest, 0
		}
	}
	return nil
}

// skipValues returns stream s past its next n values, ok false when s
// does not hold them.
func skipValues(s []byte, n int) ([]byte, bool) {
	for ; n > 0; n-- {
		if len(s) < 2 {
			return nil, false
		}
		form, l, at := s[0], uint64(s[1]), 2
		if l >= 0x80 {
			var ok bool
			if l, at, ok = uvarintAt(s, 1); !ok {
				return nil, false
			}
		}
		switch {
		case form <= 4:
			if uint64(len(s)-at) < l {
				return nil, false
			}
			at += int(l)
		case form > 6:
			return nil, false
		}
		s = s[at:]
	}
	return s, true
}

// piecesOf is how many of the current shape's values are pieces.
func (r *columnReader) piecesOf() int {
	n := 0
	for _, f := range r.fields {
		n += f.pieces
	}
	return n
}

// splitStreamsAt reads the streams of a block of blockSplit (appendSplit)
// at i of its decompressed columns b and apart, its streams held apart,
// appended to dst; apart must hold them and nothing more.
func splitStreamsAt(b []byte, i int, apart []byte, dst [][]byte) ([][]byte, bool) {
	n, i, ok := uvarintAt(b, i)
	if !ok || n > uint64(len(b)) {
		return dst, false
	}
	for range n {
		var l uint64
		if l, i, ok = uvarintAt(b, i); !ok {
			return dst, false
		}
		size := l >> 1
		if l&1 == 0 {
			if uint64(len(b)-i) < size {
				return dst, false
			}
			dst = append(dst, b[i:i+int(size):i+int(size)])
			i += int(size)
			continue
		}
		if uint64(len(apart)) < size {
			return dst, false
		}
		dst = append(dst, apart[:size:size])
		apart = apart[size:]
	}
	return dst, len(apart) == 0
}
