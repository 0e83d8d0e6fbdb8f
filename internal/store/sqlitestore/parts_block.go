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

// slot is a value of a record: field's, or its piece's (piece > 0).
type slot struct{ field, piece int }

// span is a value of the record being added: bytes start to end of its
// field's value, and the classes of its bytes (lineClasses) when known,
// found while the value was first read. (Not a string: the record's
// values are written into the writer's arrays for every record, and
// offsets cost the collector's write barriers nothing.)
type span struct {
	field, start, end int32
	classes           byte
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
	// The record being added: its fields, which are of mode 1, its pieces
	// and its values in order (their slots).
	fields  []event.RecordField
	rows    []bool
	classes []byte // by field of mode 0, lineClasses of its value
	pieces  []span
	values  []span
	refs    []uint64 // by value: 1 + 2k, 2 + 2k a reference (form 5, 6), 0 none
	slots   []slot
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

// appendValue appends a value to a stream: a reference, or v with hex
// digests as their bytes. classes is textClasses(v) or lineClasses(v)
// (the same to it), or 0 when not known.
func appendValue(s []byte, v string, ref uint64, classes byte) []byte {
	if ref != 0 {
		s = append(s, byte(6-ref%2))
		return binary.AppendUvarint(s, (ref-1)/2)
	}
	form, digits := byte(0), v
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		form, digits, classes = 2, v[1:len(v)-1], 0
	}
	if len(digits) >= hexMin && len(digits)%2 == 0 {
		if classes == 0 {
			classes = textClasses(digits)
		}
		if c := caseOf(classes); c != 0 {
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
// has dozens.
func (w *columnWriter) add(fields []event.RecordField) {
	w.records++
	w.fields = fields
	w.rows = w.rows[:0]
	w.first = [maxChained + 1]int32{}
	w.nextOf = w.nextOf[:0]
	var last [maxChained + 1]int32 // the chains' last fields (+1)
	w.classes = w.classes[:0]
	for k := range fields {
		f := &fields[k]
		// One pass over a value whose kind does not make it one line says
		// whether it is, and, for appendValue, whether it is hex.
		var classes byte
		row := f.Head != ""
		if !row && !f.OneLineByKind() {
			classes = lineClasses(f.Value)
			row = classes&lineBreak != 0
		}
		w.rows = append(w.rows, row)
		w.classes = append(w.classes, classes)
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
	for i := range fields {
		f := &fields[i]
		w.cur = binary.AppendUvarint(w.cur, f.Code)
		if f.Code == 0 {
			w.cur = binary.AppendUvarint(w.cur, uint64(len(f.Key)))
			w.cur = append(w.cur, f.Key...)
		}
		if w.rows[i] {
			w.cur = append(w.cur, 1)
			w.addRow(i, f)
			continue
		}
		w.cur = append(w.cur, 0)
		w.values = append(w.values, span{field: int32(i), end: int32(len(f.Value)), classes: w.classes[i]})
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
	shape := w.shapeStreams[id][:len(w.values)]
	refs := w.refs[:len(w.values)]
	for j, v := range w.values {
		s := &w.streams[shape[j]]
		at := len(*s)
		*s = appendValue(*s, fields[v.field].Value[v.start:v.end], refs[j], v.classes)
		// Forms 1 to 4 are digests: 0 (text) wraps round to 255.
		if (*s)[at]-1 > 3 {
			w.mixed[shape[j]] = true
		}
	}
	w.fields = nil
}

// addRow adds field i, f, of mode 1 to the shape, and its pieces to the
// later values: its header line (f.Head, or f.Value's first line) and the
// pieces of the rest between commas.
func (w *columnWriter) addRow(i int, f *event.RecordField) {
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
