package event

import (
	"encoding/binary"
	"errors"
)

// Batches travel between pipeline stages (over JetStream) in a compact binary
// form: decoding it needs no validation, since only Vigil writes it.
//
//	batch := uvarint(count) event*
//	event := uvarint(fields) (string(key) string(value))*
//	string := uvarint(len) bytes

// ErrBadBatch is returned for a batch that does not decode.
var ErrBadBatch = errors.New("malformed event batch")

// AppendBatch appends events in the binary batch form.
func AppendBatch(b []byte, events []*Event) []byte {
	b = binary.AppendUvarint(b, uint64(len(events)))
	for _, e := range events {
		b = binary.AppendUvarint(b, uint64(len(e.fields)))
		for _, f := range e.fields {
			b = binary.AppendUvarint(b, uint64(len(f.Key)))
			b = append(b, f.Key...)
			b = binary.AppendUvarint(b, uint64(len(f.Value)))
			b = append(b, f.Value...)
		}
	}
	return b
}

// DecodeBatch reads a batch written by AppendBatch.
func DecodeBatch(b []byte) ([]*Event, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, ErrBadBatch
	}
	b = b[k:]
	// One backing string for all keys and values keeps allocations low.
	s := string(b)
	pos := 0
	str := func() (string, bool) {
		l, k := binary.Uvarint(b[pos:])
		if k <= 0 || l > uint64(len(b)-pos-k) {
			return "", false
		}
		pos += k
		v := s[pos : pos+int(l)]
		pos += int(l)
		return v, true
	}
	events := make([]*Event, 0, n)
	for range n {
		nf, k := binary.Uvarint(b[pos:])
		if k <= 0 || nf > uint64(len(b)-pos) {
			return nil, ErrBadBatch
		}
		pos += k
		e := &Event{fields: make([]Field, 0, nf)}
		for range nf {
			key, ok1 := str()
			val, ok2 := str()
			if !ok1 || !ok2 {
				return nil, ErrBadBatch
			}
			e.fields = append(e.fields, Field{Key: key, Value: val})
		}
		events = append(events, e)
	}
	if pos != len(b) {
		return nil, ErrBadBatch
	}
	return events, nil
}
