package sqlitestore

// How a block of the parts layout holds its events' records. zstd finds
// the repetition between the records of a block, but each value a record
// shares with the one before still costs a match, and what a wide
// report's row repeats within one record (a Shadowserver row holds every
// fingerprint in raw and again in an extra field, and raw starts with the
// report's header line) costs a match or literals each time. So a block
// of several events is first turned into columns: each field's values of
// all the records together, raw's header line once a block, raw's row cut
// at its commas into columns of its own, a piece of it equal to a field of
// its record as a reference to that field, and hex digests as their bytes.
// The records come back byte for byte (event.AppendRecord's form is not
// changed, only how a block holds it).
//
//	block    := 0x01 zstd(columns) | zstd(plain)
//	plain    := (uvarint(len) record)*
//	columns  := uvarint(records) uvarint(headers) string* string(shapes) uvarint(streams) string*
//	shapes   := (uvarint(id) [string(shape) if new])*   one a record: a shape
//	            the block had (id < shapes so far) or a new one (id = shapes so far)
//	shape    := uvarint(fields) field*
//	field    := uvarint(code) [string(key) if code == 0] uvarint(mode)
//	            [uvarint(header) uvarint(pieces) if mode == 1]
//	value    := byte(form) string                 form: 0 as is, 1 lower-case hex,
//	            2 upper-case hex, +2 between double quotes (the bytes' hex)
//	          | byte(5) uvarint(k)                field k's value (a piece only)
//	          | byte(6) uvarint(k)                field k's value less its first and last byte
//
// A field of mode 0 takes its value from its own stream (one a field
// name); a field of mode 1 is a header line (an index into the block's
// headers) + pieces joined by commas, each piece from the stream of that
// field and piece number, its value there or a reference to a field of
// mode 0 of the same record. A record's values are its fields' of mode 0 in order, then its
// pieces in order; a stream is numbered when a shape first names it, in
// that order. The records of a report have a few shapes (which optional
// fields they have): each is written once a block, and the streams it
// names looked up once.

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
)

// blockColumns leads a block in columns; a plain block is a zstd frame,
// whose first byte is 0x28.
const blockColumns = 0x01

// Bounds of the columns: a row cut into more pieces keeps the rest in its
// last one; a piece shorter than refMin is not worth a reference; a value
// shorter than hexMin stays text.
const (
	maxPieces = 64
	refMin    = 4
	hexMin    = 16
)

// uvarintAt reads a uvarint of b at i that AppendUvarint would write the
// same (a longer form would not come back byte for byte).
func uvarintAt(b []byte, i int) (uint64, int, bool) {
	v, l := binary.Uvarint(b[i:])
	// A longer form than AppendUvarint's ends in a zero byte.
	if l <= 0 || (l > 1 && b[i+l-1] == 0) {
		return 0, i, false
	}
	return v, i + l, true
}

// stringAt reads a uvarint length and that many bytes.
func stringAt(b []byte, i int) ([]byte, int, bool) {
	n, i, ok := uvarintAt(b, i)
	if !ok || uint64(len(b)-i) < n {
		return nil, i, false
	}
	return b[i : i+int(n) : i+int(n)], i + int(n), true
}

// streamKey names a stream: a field (code, key) and, for the pieces of a
// field of mode 1, the piece's number + 1.
type streamKey struct {
	code  uint64
	key   string
	piece int
}

// slot is a value of a record: field's, or its piece's (piece > 0).
type slot struct{ field, piece int }

// span is a value of the record being added: bytes start to end of its
// field's value. (Not a string: the record's values are written into the
// writer's arrays for every record, and offsets cost the collector's
// write barriers nothing.)
type span struct{ field, start, end int32 }

// columnWriter builds a block's columns. It is reused (reset) from block
// to block, keeping its arrays.
type columnWriter struct {
	records int
	headers []string
	shapes  []byte
	streams [][]byte
	index   map[streamKey]int
	// The record being added: its fields, which are of mode 1, its pieces
	// and its values in order (their slots).
	fields []event.RecordField
	rows   []bool
	pieces []span
	values []span
	refs   []uint64 // by value: 1 + 2k, 2 + 2k a reference (form 5, 6), 0 none
	slots  []slot
	// laterValues are the record's pieces, values after its fields'.
	laterValues []span
	laterRefs   []uint64
	laterSlots  []slot
	// cur is the record's shape; known numbers the block's shapes, and
	// shapeStreams gives the stream of each value of a shape.
	cur          []byte
	known        map[string]int
	shapeStreams [][]int
	// lastRef is, by piece number, the field the last reference named: a
	// report's column usually repeats a field of the same place.
	lastRef []int
	// byLength chains the record's fields of mode 0 by their values'
	// lengths, for references: first[l] is the first field whose value
	// has l bytes (+1, 0 none), nextOf[k] the next one after field k;
	// values of maxChained bytes or more are chained at maxChained.
	first  [maxChained + 1]int32
	nextOf []int32
}

// maxChained bounds the lengths byLength chains apart.
const maxChained = 127

// reset empties w for the next block, keeping its memory.
func (w *columnWriter) reset() {
	if w.index == nil {
		w.index, w.known = map[streamKey]int{}, map[string]int{}
	}
	clear(w.index)
	clear(w.known)
	w.records = 0
	// What points into the last block's events is let go.
	clear(w.headers[:cap(w.headers)])
	w.headers = w.headers[:0]
	w.shapes = w.shapes[:0]
	for i := range w.streams {
		w.streams[i] = w.streams[i][:0]
	}
	w.streams = w.streams[:0]
	w.shapeStreams = w.shapeStreams[:0]
	w.lastRef = w.lastRef[:0]
}

// stream returns a new stream, its array one an earlier block left.
func (w *columnWriter) stream() int {
	if len(w.streams) < cap(w.streams) {
		w.streams = w.streams[:len(w.streams)+1]
	} else {
		w.streams = append(w.streams, nil)
	}
	return len(w.streams) - 1
}

// hexDigit is, by byte, 1 for a digit, 2 for a lower-case hex letter, 4
// for an upper-case one and 8 for any other byte.
var hexDigit = func() (t [256]byte) {
	for c := range t {
		switch {
		case c >= '0' && c <= '9':
			t[c] = 1
		case c >= 'a' && c <= 'f':
			t[c] = 2
		case c >= 'A' && c <= 'F':
			t[c] = 4
		default:
			t[c] = 8
		}
	}
	return t
}()

// hexValue is a hex digit's value.
var hexValue = func() (t [256]byte) {
	for c := range t {
		switch {
		case c >= 'a' && c <= 'f':
			t[c] = byte(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			t[c] = byte(c - 'A' + 10)
		case c >= '0' && c <= '9':
			t[c] = byte(c - '0')
		}
	}
	return t
}()

// appendValue appends a value to a stream: a reference, or v with hex
// digests as their bytes.
func appendValue(s []byte, v string, ref uint64) []byte {
	if ref != 0 {
		s = append(s, byte(6-ref%2))
		return binary.AppendUvarint(s, (ref-1)/2)
	}
	form, digits := byte(0), v
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		form, digits = 2, v[1:len(v)-1]
	}
	if len(digits) >= hexMin && len(digits)%2 == 0 {
		if c := hexCase(digits); c != 0 {
			s = append(s, form+c)
			s = binary.AppendUvarint(s, uint64(len(digits)/2))
			for i := 0; i < len(digits); i += 2 {
				s = append(s, hexValue[digits[i]]<<4|hexValue[digits[i+1]])
			}
			return s
		}
	}
	s = append(s, 0)
	s = binary.AppendUvarint(s, uint64(len(v)))
	return append(s, v...)
}

// hexCase is 1 when b is lower-case hex digits, 2 when upper-case ones,
// 0 otherwise (mixed case would not come back).
func hexCase(b string) byte {
	var seen byte
	for i := 0; i < len(b); i++ {
		seen |= hexDigit[b[i]]
	}
	switch {
	case seen&^3 == 0:
		return 1 // digits alone are lower case, as they always were
	case seen&^5 == 0:
		return 2
	}
	return 0
}

// add appends a record's fields (event.AppendRecordFields').
func (w *columnWriter) add(fields []event.RecordField) {
	w.records++
	w.fields = fields
	w.rows = w.rows[:0]
	w.first = [maxChained + 1]int32{}
	w.nextOf = w.nextOf[:0]
	var last [maxChained + 1]int32 // the chains' last fields (+1)
	for k, f := range fields {
		row := !f.OneLine()
		w.rows = append(w.rows, row)
		w.nextOf = append(w.nextOf, 0)
		if row {
			continue
		}
		l := min(len(f.Value), maxChained)
		if last[l] == 0 {
			w.first[l] = int32(k + 1)
		} else {
			w.nextOf[last[l]-1] = int32(k + 1)
		}
		last[l] = int32(k + 1)
	}
	w.values, w.refs, w.slots = w.values[:0], w.refs[:0], w.slots[:0]
	w.cur = binary.AppendUvarint(w.cur[:0], uint64(len(fields)))
	for i, f := range fields {
		w.cur = binary.AppendUvarint(w.cur, f.Code)
		if f.Code == 0 {
			w.cur = binary.AppendUvarint(w.cur, uint64(len(f.Key)))
			w.cur = append(w.cur, f.Key...)
		}
		if w.rows[i] {
			w.cur = append(w.cur, 1)
			w.addRow(i, &fields[i])
			continue
		}
		w.cur = append(w.cur, 0)
		w.values = append(w.values, span{field: int32(i), end: int32(len(f.Value))})
		w.refs = append(w.refs, 0)
		w.slots = append(w.slots, slot{field: i})
	}
	w.values = append(w.values, w.laterValues...)
	w.refs = append(w.refs, w.laterRefs...)
	w.slots = append(w.slots, w.laterSlots...)
	w.laterValues, w.laterRefs, w.laterSlots = w.laterValues[:0], w.laterRefs[:0], w.laterSlots[:0]
	id, ok := w.known[string(w.cur)]
	if ok {
		w.shapes = binary.AppendUvarint(w.shapes, uint64(id))
	} else {
		id = len(w.shapeStreams)
		w.known[string(w.cur)] = id
		w.shapes = binary.AppendUvarint(w.shapes, uint64(id))
		w.shapes = binary.AppendUvarint(w.shapes, uint64(len(w.cur)))
		w.shapes = append(w.shapes, w.cur...)
		var streams []int
		if len(w.shapeStreams) < cap(w.shapeStreams) {
			streams = w.shapeStreams[:len(w.shapeStreams)+1][len(w.shapeStreams)][:0]
		}
		for _, sl := range w.slots {
			f := &fields[sl.field]
			k := streamKey{code: f.Code, key: f.Key, piece: sl.piece}
			i, ok := w.index[k]
			if !ok {
				i = w.stream()
				w.index[k] = i
			}
			streams = append(streams, i)
		}
		w.shapeStreams = append(w.shapeStreams, streams)
	}
	shape := w.shapeStreams[id]
	for j, v := range w.values {
		s := shape[j]
		w.streams[s] = appendValue(w.streams[s], fields[v.field].Value[v.start:v.end], w.refs[j])
	}
	w.fields = nil
}

// addRow adds field i, f, of mode 1 to the shape, and its pieces to the
// later values: its header line (f.Head, or f.Value's first line) and the
// pieces of the rest between commas.
func (w *columnWriter) addRow(i int, f *event.RecordField) {
	value := f.Value
	// at is where the row starts in value.
	header, row, at := f.Head, value, 0
	if header == "" {
		nl := strings.IndexByte(value, '\n')
		header, row, at = value[:nl+1], value[nl+1:], nl+1
	}
	// The events of a report share their header line's string, so
	// comparing it to the block's first is one comparison of pointers.
	h := 0
	for h < len(w.headers) && w.headers[h] != header {
		h++
	}
	if h == len(w.headers) {
		w.headers = append(w.headers, header)
	}
	w.pieces = w.pieces[:0]
	for len(w.pieces) < maxPieces-1 {
		c := strings.IndexByte(row, ',')
		if c < 0 {
			break
		}
		w.pieces = append(w.pieces, span{field: int32(i), start: int32(at), end: int32(at + c)})
		row = row[c+1:]
		at += c + 1
	}
	w.pieces = append(w.pieces, span{field: int32(i), start: int32(at), end: int32(len(value))})
	w.cur = binary.AppendUvarint(w.cur, uint64(h))
	w.cur = binary.AppendUvarint(w.cur, uint64(len(w.pieces)))
	for j, p := range w.pieces {
		w.laterValues = append(w.laterValues, p)
		w.laterRefs = append(w.laterRefs, w.reference(j, value[p.start:p.end]))
		w.laterSlots = append(w.laterSlots, slot{field: i, piece: j + 1})
	}
}

// reference returns the ref of a field of mode 0 of the record holding
// piece j, p, as it is or between double quotes (an extra field's JSON),
// 0 when none is: the field the same piece named last, else the first
// field that is p.
func (w *columnWriter) reference(j int, p string) uint64 {
	if len(p) < refMin {
		return 0
	}
	for len(w.lastRef) <= j {
		w.lastRef = append(w.lastRef, 0)
	}
	if ref := w.refTo(w.lastRef[j], p); ref != 0 {
		return ref
	}
	// The first field is the lower of the first of p's length that is p
	// and the first of p's length + 2 that is p quoted.
	var ref uint64
	for k := w.first[min(len(p), maxChained)]; k != 0; k = w.nextOf[k-1] {
		if ref = w.refTo(int(k-1), p); ref != 0 {
			break
		}
	}
	for k := w.first[min(len(p)+2, maxChained)]; k != 0; k = w.nextOf[k-1] {
		if ref != 0 && uint64(k-1) >= (ref-1)/2 {
			break
		}
		if r := w.refTo(int(k-1), p); r != 0 {
			ref = r
			break
		}
	}
	if ref != 0 {
		w.lastRef[j] = int((ref - 1) / 2)
	}
	return ref
}

// refTo returns the ref of field k when it is p, 0 otherwise.
func (w *columnWriter) refTo(k int, p string) uint64 {
	if k >= len(w.fields) || w.rows[k] {
		return 0
	}
	v := w.fields[k].Value
	switch {
	case len(v) == len(p) && v == p:
		return uint64(1 + 2*k)
	case len(v) == len(p)+2 && v[0] == '"' && v[len(v)-1] == '"' && v[1:len(v)-1] == p:
		return uint64(2 + 2*k)
	}
	return 0
}

// appendTo appends the columns of the records added since reset (the
// form after blockColumns, before compression).
func (w *columnWriter) appendTo(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(w.records))
	dst = binary.AppendUvarint(dst, uint64(len(w.headers)))
	for _, h := range w.headers {
		dst = binary.AppendUvarint(dst, uint64(len(h)))
		dst = append(dst, h...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(w.shapes)))
	dst = append(dst, w.shapes...)
	dst = binary.AppendUvarint(dst, uint64(len(w.streams)))
	for _, s := range w.streams {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

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
	return r.appendColumns(dst, ends, b, slots, limit, withoutRaw)
}

// appendColumns is appendColumns with r's memory, kept from one block to
// the next (a reader of many blocks reuses it).
func (r *columnReader) appendColumns(dst []byte, ends []int, b []byte, slots []int, limit int, withoutRaw bool) ([]byte, []int, error) {
	n, i, ok := uvarintAt(b, 0)
	if !ok || n > uint64(len(b)) {
		return dst, ends, errBadBlock
	}
	if len(slots) > 0 && uint64(slots[len(slots)-1]) >= n {
		return dst, ends, fmt.Errorf("%w: slot %d of %d records", errBadBlock, slots[len(slots)-1], n)
	}
	r.reset(len(dst), limit, withoutRaw)
	defer func() { r.out = nil }() // dst is the caller's
	nh, i, ok := uvarintAt(b, i)
	if !ok || nh > uint64(len(b)) {
		return dst, ends, errBadBlock
	}
	for range nh {
		var h []byte
		if h, i, ok = stringAt(b, i); !ok {
			return dst, ends, errBadBlock
		}
		r.headers = append(r.headers, h)
	}
	if r.shapes, i, ok = stringAt(b, i); !ok {
		return dst, ends, errBadBlock
	}
	ns, i, ok := uvarintAt(b, i)
	if !ok || ns > uint64(len(b)) {
		return dst, ends, errBadBlock
	}
	for range ns {
		var s []byte
		if s, i, ok = stringAt(b, i); !ok {
			return dst, ends, errBadBlock
		}
		r.streams = append(r.streams, s)
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
