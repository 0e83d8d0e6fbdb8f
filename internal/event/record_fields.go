package event

import (
	"encoding/base64"
	"encoding/binary"
	"math/bits"
	"sort"
	"strings"
)

// RecordField is a field of an event's record as AppendRecord writes it:
// its code (0 for a name without one, whose key is then written), and
// its value as the record holds it (raw's decoded bytes): Head + Value.
// Head is raw's header line with its newline when the event holds it
// apart (Event.SetRawParts), shared by the events of a report; it is ""
// or ends in its only newline.
type RecordField struct {
	Code  uint64
	Key   string
	Head  string
	Value string
}

// Len is the length of the field's value, Head + Value.
func (f *RecordField) Len() int { return len(f.Head) + len(f.Value) }

// namesSorted says recordNames are in key order, as events' fields are:
// AppendRecordFields then finds the codes by walking both at once.
var namesSorted = sort.StringsAreSorted(recordNames)

// AppendRecordFields appends to dst the fields of e's record, in the
// order and with the codes and values AppendRecord writes them, without
// writing the record: a store that cuts records into columns takes them
// from here instead of writing each record and cutting it up again. The
// values are e's own strings (raw held as bytes too), except raw given
// as base64 text, decoded into a new string.
func AppendRecordFields(dst []RecordField, e *Event) []RecordField {
	return (*RecordCoder)(nil).AppendFields(dst, e)
}

// RecordCoder is AppendRecordFields for many events, one after the
// other: it remembers the last event's names and their codes, which the
// events of one report share, and finds them again without looking them
// up (AppendBatchHeads writes a batch's records with one). The zero
// value is ready to use; a nil one remembers nothing.
type RecordCoder struct {
	keys  []string
	codes []uint64
}

// AppendFields is AppendRecordFields.
func (c *RecordCoder) AppendFields(dst []RecordField, e *Event) []RecordField {
	raw := e.hasRaw()
	next := 0  // recordNames before next sort before the keys so far
	shift := 0 // where the last key was found among the remembered, from i
	for i, f := range e.fields {
		if raw && f.Key > "raw" {
			dst = append(dst, RecordField{Code: rawCode, Head: e.rawHead, Value: e.raw})
			raw = false
		}
		code := c.code(f.Key, i, &shift, &next)
		if code == rawCode {
			if b, err := base64.StdEncoding.AppendDecode(nil, []byte(f.Value)); err == nil {
				dst = append(dst, RecordField{Code: rawCode, Value: string(b)})
				continue
			}
			code = 0 // not base64 after all: kept as text
		}
		field := RecordField{Code: code, Value: f.Value}
		if code == 0 {
			field.Key = f.Key
		}
		dst = append(dst, field)
	}
	if raw {
		dst = append(dst, RecordField{Code: rawCode, Head: e.rawHead, Value: e.raw})
	}
	return dst
}

// code is the record code of key, the name at i of an event's fields:
// found among the remembered names near i (near), else by walking
// recordNames from next on (the names come in order), else in
// recordCodes; a name not found near is remembered at i.
func (c *RecordCoder) code(key string, i int, shift, next *int) uint64 {
	if j, ok := c.near(key, i, shift); ok {
		return c.codes[j]
	}
	var code uint64
	ok := false
	if namesSorted {
		code, *next, ok = walkCode(key, *next)
	}
	if !ok {
		code = recordCodes[key]
	}
	if c != nil {
		if i >= len(c.keys) {
			c.keys, c.codes = append(c.keys, key), append(c.codes, code)
		} else {
			c.keys[i], c.codes[i] = key, code
		}
	}
	return code
}

// near finds key among the remembered names at i + *shift, else at i,
// one or two places either side (a report's rows differ by a field left
// empty here and there, which moves the names after it), and keeps the
// shift it was found at for the next key.
func (c *RecordCoder) near(key string, i int, shift *int) (int, bool) {
	if c == nil {
		return 0, false
	}
	if j := i + *shift; uint(j) < uint(len(c.keys)) && c.keys[j] == key {
		return j, true
	}
	for _, d := range [...]int{0, -1, 1, -2, 2} {
		if j := i + d; uint(j) < uint(len(c.keys)) && c.keys[j] == key {
			*shift = d
			return j, true
		}
	}
	return 0, false
}

// walkCode finds key's code among recordNames from next on, for keys
// that come in order; ok is false when key sorts before next's name
// (keys out of order), and the caller asks the map.
func walkCode(key string, next int) (code uint64, after int, ok bool) {
	if next > 0 && recordNames[next-1] >= key {
		return 0, next, false
	}
	for next < len(recordNames) && recordNames[next] < key {
		next++
	}
	if next < len(recordNames) && recordNames[next] == key {
		return uint64(next + 1), next + 1, true
	}
	return 0, next, true // between two names: none
}

// AppendFieldsRecord appends the record of fields (AppendRecordFields'):
// the bytes AppendRecord writes for their event.
func AppendFieldsRecord(b []byte, fields []RecordField) []byte {
	b = binary.AppendUvarint(b, uint64(len(fields)))
	for _, f := range fields {
		b = binary.AppendUvarint(b, f.Code)
		if f.Code == 0 {
			b = binary.AppendUvarint(b, uint64(len(f.Key)))
			b = append(b, f.Key...)
		}
		b = binary.AppendUvarint(b, uint64(f.Len()))
		b = append(append(b, f.Head...), f.Value...)
	}
	return b
}

// RecordSize is the length of the record of fields.
func RecordSize(fields []RecordField) int {
	n := uvarintLen(uint64(len(fields)))
	for i := range fields {
		f := &fields[i]
		l := f.Len()
		n += uvarintLen(f.Code) + uvarintLen(uint64(l)) + l
		if f.Code == 0 {
			n += uvarintLen(uint64(len(f.Key))) + len(f.Key)
		}
	}
	return n
}

// uvarintLen is the length of v as binary.AppendUvarint writes it: 7
// bits a byte, one byte for 0.
func uvarintLen(v uint64) int {
	return (bits.Len64(v|1) + 6) / 7
}

// oneLineCodes are, by code, the record names whose kind's canonical
// values never hold a line break (addresses, numbers, times, labels).
var oneLineCodes = func() []bool {
	one := make([]bool, len(recordNames)+1)
	for i, name := range recordNames {
		switch Fields[name] {
		case KindFQDN, KindIP, KindNetwork, KindDateTime, KindInteger, KindPort, KindASN,
			KindFloat, KindAccuracy, KindBoolean, KindTaxonomy, KindType, KindTLP, KindCountry, KindRegistry:
			one[i+1] = true // raw is KindBase64, never among these
		}
	}
	return one
}()

// OneLine reports whether the field's value has no line break, without
// reading the value where its kind tells: the canonical values of its
// kind never hold one. (A value of such a kind given with a break by
// SetTrusted is called one line too: a store then keeps it whole, which
// gives it back the same.)
func (f *RecordField) OneLine() bool {
	if f.Head != "" {
		return false
	}
	return f.OneLineByKind() || strings.IndexByte(f.Value, '\n') < 0
}

// OneLineByKind reports whether the field's kind alone makes it one line
// (OneLine without reading the value): false for a field of another
// kind, whose value the caller reads, and for raw.
func (f *RecordField) OneLineByKind() bool {
	return f.Head == "" && f.Code < uint64(len(oneLineCodes)) && oneLineCodes[f.Code]
}
