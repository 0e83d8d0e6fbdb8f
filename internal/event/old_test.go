package event

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// The algorithms as they were before issue 14 made them cheaper, kept to
// show that the new ones give the same hashes and records
// (equivalence_test.go). Stored events and deduplication keys depend on
// both: these copies must not change.

// OldHashExcept is HashExcept as it was.
func OldHashExcept(e *Event, skip map[string]bool) Hash {
	var buf [4096]byte
	b := buf[:0]
	for _, f := range e.fields {
		if hashExcluded(f.Key) || skip[f.Key] {
			continue
		}
		b = append(b, f.Key...)
		b = append(b, 0)
		b = append(b, f.Value...)
		b = append(b, 0)
	}
	return sha256.Sum256(b)
}

// OldSealValue is the event_hash value Seal stored.
func OldSealValue(h Hash) string { return strings.ToUpper(hex.EncodeToString(h[:])) }

// OldAppendRecord is AppendRecord as it was.
func OldAppendRecord(b []byte, e *Event) []byte {
	b = binary.AppendUvarint(b, uint64(len(e.fields)))
	for _, f := range e.fields {
		code := recordCodes[f.Key]
		if code == rawCode {
			if raw, err := base64.StdEncoding.DecodeString(f.Value); err == nil {
				b = binary.AppendUvarint(b, code)
				b = binary.AppendUvarint(b, uint64(len(raw)))
				b = append(b, raw...)
				continue
			}
			code = 0
		}
		b = binary.AppendUvarint(b, code)
		if code == 0 {
			b = binary.AppendUvarint(b, uint64(len(f.Key)))
			b = append(b, f.Key...)
		}
		b = binary.AppendUvarint(b, uint64(len(f.Value)))
		b = append(b, f.Value...)
	}
	return b
}

// OldDecodeRecord is DecodeRecord as it was.
func OldDecodeRecord(b []byte) (*Event, error) {
	r := oldRecordReader{b: b, s: string(b)}
	e, ok := r.record()
	if !ok || r.pos != len(b) {
		return nil, ErrBadBatch
	}
	return e, nil
}

type oldRecordReader struct {
	b   []byte
	s   string
	pos int
}

func (r *oldRecordReader) uvarint() (uint64, bool) {
	v, k := binary.Uvarint(r.b[r.pos:])
	if k <= 0 {
		return 0, false
	}
	r.pos += k
	return v, true
}

func (r *oldRecordReader) str() (string, bool) {
	l, ok := r.uvarint()
	if !ok || l > uint64(len(r.b)-r.pos) {
		return "", false
	}
	v := r.s[r.pos : r.pos+int(l)]
	r.pos += int(l)
	return v, true
}

func (r *oldRecordReader) record() (*Event, bool) {
	nf, ok := r.uvarint()
	if !ok || nf > uint64(len(r.b)-r.pos) {
		return nil, false
	}
	e := &Event{fields: make([]Field, 0, nf)}
	for range nf {
		code, ok := r.uvarint()
		if !ok || code > uint64(len(recordNames)) {
			return nil, false
		}
		var key string
		if code == 0 {
			if key, ok = r.str(); !ok {
				return nil, false
			}
		} else {
			key = recordNames[code-1]
		}
		val, ok := r.str()
		if !ok {
			return nil, false
		}
		if code == rawCode {
			val = base64.StdEncoding.EncodeToString([]byte(val))
		}
		if n := len(e.fields); n > 0 && e.fields[n-1].Key >= key {
			return nil, false
		}
		e.fields = append(e.fields, Field{Key: key, Value: val})
	}
	return e, true
}

// OldSetDefaults is what callers of SetDefaults did before it: a Has and a
// SetTrusted per field.
func OldSetDefaults(e *Event, fields ...Field) {
	for _, f := range fields {
		if !e.Has(f.Key) {
			e.SetTrusted(f.Key, f.Value)
		}
	}
}
