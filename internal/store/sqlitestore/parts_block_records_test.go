package sqlitestore

import (
	"encoding/binary"

	"github.com/klauspost/compress/zstd"

	"github.com/vigil-cert/vigil/internal/event"
)

// The blocks of records as the store wrote them before it wrote them
// from the events' fields: the tests compare the two forms, which must be
// the same bytes.

// splitRecord reads a record's fields (event.AppendRecord's form: a count,
// then each field's code, key when the code is 0, and value), slices of
// one string copy of rec; ok is false unless writing them again gives
// rec. The store writes blocks from events' fields
// (event.AppendRecordFields); records are cut up by tests, which show the
// two give the same blocks.
func splitRecord(rec []byte, fields []event.RecordField) ([]event.RecordField, bool) {
	n, i, ok := uvarintAt(rec, 0)
	if !ok || n > uint64(len(rec)) {
		return fields, false
	}
	text := string(rec)
	for range n {
		var f event.RecordField
		if f.Code, i, ok = uvarintAt(rec, i); !ok {
			return fields, false
		}
		var b []byte
		if f.Code == 0 {
			if b, i, ok = stringAt(rec, i); !ok {
				return fields, false
			}
			f.Key = text[i-len(b) : i]
		}
		if b, i, ok = stringAt(rec, i); !ok {
			return fields, false
		}
		f.Value = text[i-len(b) : i]
		fields = append(fields, f)
	}
	return fields, i == len(rec)
}

// encodeColumns returns the columns of recs (the form after blockColumns,
// before compression); ok is false when a record does not parse.
func encodeColumns(dst []byte, recs [][]byte) ([]byte, bool) {
	var (
		w      columnWriter
		fields [][]event.RecordField
	)
	for _, r := range recs {
		f, ok := splitRecord(r, nil)
		if !ok {
			return dst, false
		}
		fields = append(fields, f)
	}
	w.reset()
	for _, f := range fields {
		w.add(f)
	}
	return w.appendTo(dst), true
}

// compressBlock returns the stored form of a block of records; scratch is
// reused for the form before compression. The store writes blocks from
// events' fields (compressBlocks); this is the form of the records it
// gives, which tests compare with it.
func compressBlock(enc *zstd.Encoder, recs [][]byte, scratch []byte) []byte {
	if len(recs) > 1 {
		if cols, ok := encodeColumns(scratch, recs); ok {
			return enc.EncodeAll(cols, []byte{blockColumns})
		}
	}
	raw := scratch[:0]
	for _, rec := range recs {
		raw = binary.AppendUvarint(raw, uint64(len(rec)))
		raw = append(raw, rec...)
	}
	return enc.EncodeAll(raw, nil)
}
