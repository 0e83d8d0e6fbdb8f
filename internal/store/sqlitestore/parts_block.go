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
//	block    := 0x01 zstd(columns) | 0x02 uvarint(len(frame)) frame apart | zstd(plain)
//	plain    := (uvarint(len) record)*
//	columns  := uvarint(records) uvarint(headers) string* string(shapes) uvarint(streams) string*
//	frame    := zstd(uvarint(records) uvarint(headers) string* string(shapes) uvarint(streams) stream*)
//	stream   := uvarint(2 len) byte*len | uvarint(2 len + 1)   the latter's bytes in apart
//	apart    := the bytes of the streams held apart, in the streams' order
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
//
// A block of 0x02 (layout version 9, splitVersion) holds the streams of
// distinct digests apart, uncompressed (columnWriter.apart says which):
// zstd cannot make them smaller.

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
)

// splitVersion is the layout version from which a block in columns is
// written split (blockSplit).
const splitVersion = 9

// blockColumns leads a block in columns; blockSplit one in columns whose
// streams of distinct digests are held apart from the compressed frame
// (layout version 9); a plain block is a zstd frame, whose first byte is
// 0x28.
const (
	blockColumns = 0x01
	blockSplit   = 0x02
)

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

// stringsAt reads a uvarint count and that many strings (stringAt),
// appended to dst.
func stringsAt(b []byte, i int, dst [][]byte) ([][]byte, int, bool) {
	n, i, ok := uvarintAt(b, i)
	if !ok || n > uint64(len(b)) {
		return dst, i, false
	}
	for range n {
		var s []byte
		if s, i, ok = stringAt(b, i); !ok {
			return dst, i, false
		}
		dst = append(dst, s)
	}
	return dst, i, true
}

// streamKey names a stream: a field (code, key) and, for the pieces of a
// field of mode 1, the piece's number + 1.
type streamKey struct {
	code  uint64
	key   string
	piece int
}

// span is a value of the record being added: bytes start to end of its
// field's value (piece 0) or of its piece piece-1 (piece > 0), the
// classes of its bytes (lineClasses) when known, found while the value
// was first read, and its ref: 1 + 2k, 2 + 2k a reference to field k
// (form 5, 6), 0 none. (Offsets, not a string: the record's values are
// written into the writer's arrays for every record, and offsets cost
// the collector's write barriers nothing.)
type span struct {
	field, start, end, piece int32
	ref                      uint32
	classes                  byte
}

// fieldInfo is what add learns of a field of the record being added in
// its one pass over them: whether it is of mode 1 (row), and then its
// header's number and its pieces' count; lineClasses of its value when
// of mode 0, and the next field of mode 0 whose value has its value's
// length (byLength; +1, 0 none).
type fieldInfo struct {
	next           int32
	header, pieces int32
	row            bool
	classes        byte
}

// columnWriter builds a block's columns. It is reused (reset) from block
// to block, keeping its arrays.
type columnWriter struct {
	records int
	headers []string
	shapes  []byte
	streams [][]byte
	// mixed says, by stream, that it holds a value other than hex digits
	// as bytes (appendValue's forms 1 to 4): only a stream of digests
	// alone may be held apart (appendSplit).
	mixed []bool
	index map[streamKey]int
	// seen is apart's table of the digests of a stream.
	seen []uint64
	// The record being added: its fields and what add learnt of each, its
	// values in order (its fields' of mode 0, then its pieces) and, apart
	// while its fields are read, its pieces.
	fields []event.RecordField
	info   []fieldInfo
	values []span
	pieces []span
	// cur is a new shape's bytes; shapeStreams gives the stream of each
	// value of a shape. A record's shape is found among the block's by
	// comparing its fields to those of the first record of each shape
	// whose sign (a digest of the shape add makes as it reads the fields)
	// is the record's (shapeFields, shapeInfo: sameShape), without writing
	// or hashing the shape's bytes: a report's records have a few shapes
	// (which optional fields they have), in no order. lastShape is the
	// last record's (+1, 0 none), tried first.
	cur          []byte
	shapeStreams [][]int
	shapeSigns   []uint64
	shapeFields  [][]event.RecordField
	shapeInfo    [][]fieldInfo
	lastShape    int
	// lastRef is, by piece number, the field the last reference named: a
	// report's column usually repeats a field of the same place.
	lastRef []int
	// byLength chains the record's fields of mode 0 by their values'
	// lengths, for references: first[l] is the first field whose value
	// has l bytes (+1, 0 none), info[k].next the next one after field k;
	// values of maxChained bytes or more are chained at maxChained.
	first [maxChained + 1]int32
}

// maxChained bounds the lengths byLength chains apart.
const maxChained = 127

// reset empties w for the next block, keeping its memory.
func (w *columnWriter) reset() {
	if w.index == nil {
		w.index = map[streamKey]int{}
	}
	clear(w.index)
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
	w.shapeSigns = w.shapeSigns[:0]
	clear(w.shapeFields)
	w.shapeFields = w.shapeFields[:0]
	w.lastShape = 0
	w.lastRef = w.lastRef[:0]
}

// stream returns a new stream, its array one an earlier block left.
func (w *columnWriter) stream() int {
	if len(w.streams) < cap(w.streams) {
		w.streams = w.streams[:len(w.streams)+1]
	} else {
		w.streams = append(w.streams, nil)
	}
	w.mixed = append(w.mixed[:len(w.streams)-1], false)
	return len(w.streams) - 1
}

// hexDigit is, by byte, 1 for a digit, 2 for a lower-case hex letter, 4
// for an upper-case one and 8 for any other byte; a line break is 8|16,
// so that one pass over a value tells both whether it is one line and
// whether it is hex digits of one case.
var hexDigit = func() (t [256]byte) {
	for c := range t {
		switch {
		case c >= '0' && c <= '9':
			t[c] = 1
		case c >= 'a' && c <= 'f':
			t[c] = 2
		case c >= 'A' && c <= 'F':
			t[c] = 4
		case c == '\n':
			t[c] = 8 | lineBreak
		default:
			t[c] = 8
		}
	}
	return t
}()

// lineBreak is the class of '\n' (hexDigit) besides "other".
const lineBreak = 16

// textClasses is the union of the classes (hexDigit) of b's bytes.
func textClasses(b string) byte {
	var seen byte
	for i := 0; i < len(b); i++ {
		seen |= hexDigit[b[i]]
	}
	return seen
}

// lineClasses is what add needs of textClasses(v): whether v holds a line
// break (lineBreak), and, only when v could be a digest as it is (hexMin
// bytes or more, an even number: appendValue reads the classes of no
// other), which hex digits it holds, or 8 once a byte is not one. Past
// the first byte that is not a hex digit the rest is only searched for a
// line break, which strings.IndexByte does many bytes at a time: a text
// value is rarely read byte by byte beyond its first few.
func lineClasses(v string) byte {
	if len(v) < hexMin || len(v)%2 != 0 {
		if strings.IndexByte(v, '\n') >= 0 {
			return 8 | lineBreak
		}
		return 8
	}
	var seen byte
	for i := 0; i < len(v); i++ {
		seen |= hexDigit[v[i]]
		if seen&8 != 0 {
			if seen&lineBreak == 0 && strings.IndexByte(v[i+1:], '\n') >= 0 {
				seen |= lineBreak
			}
			return seen
		}
	}
	return seen
}

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

// appendValue appends a value that is not a reference to a stream: v
// with hex digests as their bytes. classes is textClasses(v) or
// lineClasses(v) (the same to it), or 0 when not known.
func appendValue(s []byte, v string, classes byte) []byte {
	form, digits := byte(0), v
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		form, digits, classes = 2, v[1:len(v)-1], 0
	}
	if len(digits) >= hexMin && len(digits)%2 == 0 && (classes == 0 || caseOf(classes) != 0) {
		if out, ok := appendHex(s, form, digits); ok {
			return out
		}
	}
	s = append(s, 0)
	s = binary.AppendUvarint(s, uint64(len(v)))
	return append(s, v...)
}

// appendHex appends digits, an even number of them, as appendValue's
// form (form + their case), their bytes' count and their bytes, and
// returns true; or returns s as it was and false when digits are not hex
// digits of one case. Their classes are read as they are turned into
// bytes, eight digits at a time, in one pass that stops at the first
// eight that are not all digits.
func appendHex(s []byte, form byte, digits string) ([]byte, bool) {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	at := len(s)
	s = binary.AppendUvarint(append(s, form), uint64(len(digits)/2))
	head := len(s)
	s = slices.Grow(s, len(digits)/2)[:head+len(digits)/2]
	out := s[head:]
	var lower, upper uint64
	for len(digits) >= 8 && len(out) >= 4 {
		// Eight digits, the first in x's lowest byte, tested all at once:
		// for a byte m under 0x80, m + 0x80 - c has its top bit set when
		// m >= c, with no carry into the next byte.
		x := uint64(digits[0]) | uint64(digits[1])<<8 | uint64(digits[2])<<16 | uint64(digits[3])<<24 |
			uint64(digits[4])<<32 | uint64(digits[5])<<40 | uint64(digits[6])<<48 | uint64(digits[7])<<56
		m := x &^ high
		digit := (m + (0x80-'0')*ones) &^ (m + (0x80-'9'-1)*ones)
		up := (m + (0x80-'A')*ones) &^ (m + (0x80-'F'-1)*ones)
		low := (m + (0x80-'a')*ones) &^ (m + (0x80-'f'-1)*ones)
		if x&high != 0 || (digit|up|low)&high != high {
			return s[:at], false
		}
		lower, upper = lower|low, upper|up
		// A letter (0x40 set) is its low four bits + 9, a digit its low
		// four; then each pair of them a byte, the four in order.
		v := x&0x0f0f0f0f0f0f0f0f + (x>>6)&ones*9
		v = (v<<4 | v>>8) & 0x00ff00ff00ff00ff
		v = (v | v>>8) & 0x0000ffff0000ffff
		binary.LittleEndian.PutUint32(out, uint32(v|v>>16))
		digits, out = digits[8:], out[4:]
	}
	var seen byte
	if lower&high != 0 {
		seen |= 2
	}
	if upper&high != 0 {
		seen |= 4
	}
	for i := range out {
		a, b := digits[2*i], digits[2*i+1]
		seen |= hexDigit[a] | hexDigit[b]
		out[i] = hexValue[a]<<4 | hexValue[b]
	}
	c := caseOf(seen)
	if c == 0 {
		return s[:at], false
	}
	s[at] = form + c
	return s, true
}

// caseOf is 1 when a value of these classes (textClasses) is lower-case
// hex digits, 2 when upper-case ones, 0 otherwise (mixed case would not
// come back).
func caseOf(seen byte) byte {
	switch {
	case seen&^3 == 0:
		return 1 // digits alone are lower case, as they always were
	case seen&^5 == 0:
		return 2
	}
	return 0
}

// add appends a record's fields (event.AppendRecordFields'). The fields
// are walked by index, not copied: a field is four words, and a record
// has dozens. One pass over them makes a digest of the record's shape,
// reads each value of mode 0 and chains it by length, and cuts the rows
// into their pieces; the pieces' references, which need every field
// chained, come after it.
func (w *columnWriter) add(fields []event.RecordField) {
	w.records++
	w.fields = fields
	if cap(w.info) < len(fields) {
		w.info = make([]fieldInfo, 0, 2*len(fields))
	}
	w.info = w.info[:len(fields)]
	info := w.info
	w.first = [maxChained + 1]int32{}
	var last [maxChained + 1]int32 // the chains' last fields (+1)
	w.values, w.pieces = w.values[:0], w.pieces[:0]
	sign := uint64(len(fields))
	for k := range fields {
		f := &fields[k]
		sign = (sign+f.Code)*0x9e3779b97f4a7c15 + uint64(len(f.Key))
		// One pass over a value whose kind does not make it one line says
		// whether it is, and, for appendValue, whether it is hex.
		var classes byte
		row := f.Head != ""
		if !row && !f.OneLineByKind() {
			classes = lineClasses(f.Value)
			row = classes&lineBreak != 0
		}
		info[k] = fieldInfo{row: row, classes: classes}
		if row {
			info[k].header, info[k].pieces = w.addRow(k, f)
			sign += 1 + uint64(info[k].header)<<8 + uint64(info[k].pieces)<<32
			continue
		}
		w.values = append(w.values, span{field: int32(k), end: int32(len(f.Value)), classes: classes})
		l := min(len(f.Value), maxChained)
		if last[l] == 0 {
			w.first[l] = int32(k + 1)
		} else {
			info[last[l]-1].next = int32(k + 1)
		}
		last[l] = int32(k + 1)
	}
	for j := range w.pieces {
		p := &w.pieces[j]
		p.ref = w.reference(int(p.piece-1), fields[p.field].Value[p.start:p.end])
	}
	w.values = append(w.values, w.pieces...)
	id := w.findShape(fields, sign)
	if id < 0 {
		// A new shape is written after its number.
		id = w.newShape(fields, sign)
		w.writeShape(fields)
		w.shapes = binary.AppendUvarint(w.shapes, uint64(id))
		w.shapes = binary.AppendUvarint(w.shapes, uint64(len(w.cur)))
		w.shapes = append(w.shapes, w.cur...)
	} else {
		w.shapes = binary.AppendUvarint(w.shapes, uint64(id))
	}
	shape := w.shapeStreams[id][:len(w.values)]
	for j := range w.values {
		v := &w.values[j]
		i := shape[j]
		s := &w.streams[i]
		value := fields[v.field].Value[v.start:v.end]
		switch {
		case v.ref != 0:
			// A reference (form 5 or 6) is not a digest.
			*s = binary.AppendUvarint(append(*s, byte(6-v.ref%2)), uint64((v.ref-1)/2))
			w.mixed[i] = true
		case v.classes&8 != 0 && (len(value) == 0 || value[0] != '"'):
			// Known not to be digits, and not between double quotes:
			// text (form 0), without appendValue's call.
			*s = append(binary.AppendUvarint(append(*s, 0), uint64(len(value))), value...)
			w.mixed[i] = true
		default:
			at := len(*s)
			*s = appendValue(*s, value, v.classes)
			// Forms 1 to 4 are digests: 0 (text) wraps round to 255.
			if (*s)[at]-1 > 3 {
				w.mixed[i] = true
			}
		}
	}
	w.fields = nil
}

// findShape returns the number of the block's shape that the record
// being added has, -1 when it is new; sign is its shape's digest.
func (w *columnWriter) findShape(fields []event.RecordField, sign uint64) int {
	if id := w.lastShape - 1; id >= 0 && w.shapeSigns[id] == sign && w.sameShape(fields, id) {
		return id
	}
	for id, s := range w.shapeSigns {
		if s == sign && w.sameShape(fields, id) {
			w.lastShape = id + 1
			return id
		}
	}
	return -1
}

// sameShape says whether the record being added has the shape id: the
// same fields as its first record (codes, and keys of code 0), of the
// same modes, its rows of the same header and count of pieces.
func (w *columnWriter) sameShape(fields []event.RecordField, id int) bool {
	last := w.shapeFields[id]
	if len(last) != len(fields) {
		return false
	}
	info, lastInfo := w.info[:len(fields)], w.shapeInfo[id][:len(fields)]
	for k := range fields {
		f, l := &fields[k], &last[k]
		if f.Code != l.Code || (f.Code == 0 && f.Key != l.Key) || info[k].row != lastInfo[k].row {
			return false
		}
		if info[k].row && (info[k].header != lastInfo[k].header || info[k].pieces != lastInfo[k].pieces) {
			return false
		}
	}
	return true
}

// writeShape writes the shape of the record being added to w.cur.
func (w *columnWriter) writeShape(fields []event.RecordField) {
	w.cur = binary.AppendUvarint(w.cur[:0], uint64(len(fields)))
	for k := range fields {
		f := &fields[k]
		w.cur = binary.AppendUvarint(w.cur, f.Code)
		if f.Code == 0 {
			w.cur = binary.AppendUvarint(w.cur, uint64(len(f.Key)))
			w.cur = append(w.cur, f.Key...)
		}
		if in := &w.info[k]; in.row {
			w.cur = append(w.cur, 1)
			w.cur = binary.AppendUvarint(w.cur, uint64(in.header))
			w.cur = binary.AppendUvarint(w.cur, uint64(in.pieces))
			continue
		}
		w.cur = append(w.cur, 0)
	}
}

// newShape numbers the shape of the record being added, whose values are
// w.values, keeps the record's fields and info to compare later records
// to, and finds or makes the stream of each of its values.
func (w *columnWriter) newShape(fields []event.RecordField, sign uint64) int {
	id := len(w.shapeStreams)
	w.lastShape = id + 1
	w.shapeSigns = append(w.shapeSigns, sign)
	w.shapeFields = append(w.shapeFields, fields)
	if len(w.shapeInfo) <= id {
		w.shapeInfo = append(w.shapeInfo, nil)
	}
	w.shapeInfo[id] = append(w.shapeInfo[id][:0], w.info...)
	var streams []int
	if len(w.shapeStreams) < cap(w.shapeStreams) {
		streams = w.shapeStreams[:len(w.shapeStreams)+1][len(w.shapeStreams)][:0]
	}
	for _, v := range w.values {
		f := &fields[v.field]
		k := streamKey{code: f.Code, key: f.Key, piece: int(v.piece)}
		i, ok := w.index[k]
		if !ok {
			i = w.stream()
			w.index[k] = i
		}
		streams = append(streams, i)
	}
	w.shapeStreams = append(w.shapeStreams, streams)
	return id
}

// addRow adds the pieces of field i, f, of mode 1 to w.pieces (their
// references are found once every field of the record is read), and
// returns the number of its header line (f.Head, or f.Value's first
// line) in the block and its pieces' count: the pieces of the rest
// between commas.
func (w *columnWriter) addRow(i int, f *event.RecordField) (int32, int32) {
	value := f.Value
	// at is where the row starts in value.
	header, at := f.Head, 0
	if header == "" {
		nl := strings.IndexByte(value, '\n')
		header, at = value[:nl+1], nl+1
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
	row := value[at:]
	first := len(w.pieces)
	for piece := int32(1); piece < maxPieces; piece++ {
		c := strings.IndexByte(row, ',')
		if c < 0 {
			break
		}
		w.pieces = append(w.pieces, span{field: int32(i), start: int32(at), end: int32(at + c), piece: piece})
		row = row[c+1:]
		at += c + 1
	}
	w.pieces = append(w.pieces, span{field: int32(i), start: int32(at), end: int32(len(value)), piece: int32(len(w.pieces) - first + 1)})
	return int32(h), int32(len(w.pieces) - first)
}

// reference returns the ref of a field of mode 0 of the record holding
// piece j, p, as it is or between double quotes (an extra field's JSON),
// 0 when none is: the field the same piece named last, else the first
// field that is p.
func (w *columnWriter) reference(j int, p string) uint32 {
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
	var ref uint32
	for k := w.first[min(len(p), maxChained)]; k != 0; k = w.info[k-1].next {
		if ref = w.chainedRef(int(k-1), p); ref != 0 {
			break
		}
	}
	for k := w.first[min(len(p)+2, maxChained)]; k != 0; k = w.info[k-1].next {
		if ref != 0 && uint32(k-1) >= (ref-1)/2 {
			break
		}
		if r := w.chainedRef(int(k-1), p); r != 0 {
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
func (w *columnWriter) refTo(k int, p string) uint32 {
	if k >= len(w.fields) || w.info[k].row {
		return 0
	}
	return w.chainedRef(k, p)
}

// chainedRef is refTo of a field of the record known to be of mode 0
// (one byLength chains).
func (w *columnWriter) chainedRef(k int, p string) uint32 {
	v := w.fields[k].Value
	switch {
	case len(v) == len(p) && v == p:
		return uint32(1 + 2*k)
	case len(v) == len(p)+2 && v[0] == '"' && v[len(v)-1] == '"' && v[1:len(v)-1] == p:
		return uint32(2 + 2*k)
	}
	return 0
}

// appendTo appends the columns of the records added since reset (the
// form after blockColumns, before compression).
func (w *columnWriter) appendTo(dst []byte) []byte {
	dst = w.appendLead(dst)
	dst = binary.AppendUvarint(dst, uint64(len(w.streams)))
	for _, s := range w.streams {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

// appendSplit appends the columns of the records added since reset as a
// block of blockSplit holds them: to dst what is compressed, appendTo's
// form but for each stream's length, doubled, + 1 for a stream held
// apart, whose bytes are appended to tail instead (in the order of the
// streams), not the columns.
func (w *columnWriter) appendSplit(dst, tail []byte) ([]byte, []byte) {
	dst = w.appendLead(dst)
	dst = binary.AppendUvarint(dst, uint64(len(w.streams)))
	for i, s := range w.streams {
		if !w.mixed[i] && w.apart(s) {
			dst = binary.AppendUvarint(dst, uint64(len(s))<<1|1)
			tail = append(tail, s...)
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(len(s))<<1)
		dst = append(dst, s...)
	}
	return dst, tail
}

// apart says whether a stream of digests (appendValue's forms 1 to 4) is
// better held apart than compressed: when at most one value in 16
// repeats one before it in the block. Distinct digests are random bytes,
// which zstd cannot make smaller, only spend time trying (a third of a
// scan report's compression time, for 154 of an event's 737 bytes of
// columns: event_hash, four fingerprints and a certificate's serial
// number); repeated ones it stores as matches. A value is known by its first 8 bytes (a digest has 8 or
// more): two digests equal there are taken to repeat, which only keeps
// a stream in the frame.
func (w *columnWriter) apart(s []byte) bool {
	// The values' count, bounded by the stream's bytes (each 10 or more).
	slots := 16
	for slots < len(s)/5 {
		slots <<= 1
	}
	if cap(w.seen) < slots {
		w.seen = make([]uint64, slots)
	}
	seen := w.seen[:slots]
	clear(seen)
	shift := 64 - bits.Len(uint(slots-1))
	values, repeats := 0, 0
	for i := 0; i < len(s); {
		n, k := binary.Uvarint(s[i+1:])
		i += 1 + k
		if k <= 0 || n < 8 || uint64(len(s)-i) < n {
			return false // not the writer's digests
		}
		key := binary.LittleEndian.Uint64(s[i:]) | 1
		i += int(n)
		values++
		for h := (key * 0x9e3779b97f4a7c15) >> shift; ; h = (h + 1) & uint64(slots-1) {
			if seen[h] == 0 {
				seen[h] = key
				break
			}
			if seen[h] == key {
				repeats++
				break
			}
		}
	}
	return repeats*16 <= values
}

// appendLead appends the columns' count of records, headers and shapes.
func (w *columnWriter) appendLead(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(w.records))
	dst = binary.AppendUvarint(dst, uint64(len(w.headers)))
	for _, h := range w.headers {
		dst = binary.AppendUvarint(dst, uint64(len(h)))
		dst = append(dst, h...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(w.shapes)))
	return append(dst, w.shapes...)
}
