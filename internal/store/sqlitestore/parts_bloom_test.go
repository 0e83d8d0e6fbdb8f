package sqlitestore

import (
	"encoding/binary"
	"errors"
	"testing"
)

// TestBloomProbesBounded reads a filter whose k is beyond any the writer
// makes: a damaged summary, refused.
func TestBloomProbesBounded(t *testing.T) {
	f := newBloom(100)
	b := f.marshal()
	if _, err := unmarshalBloom(b); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b, 1<<31)
	if _, err := unmarshalBloom(b); !errors.Is(err, errBadBloom) {
		t.Errorf("k = 2^31: %v, want %v", err, errBadBloom)
	}
}
