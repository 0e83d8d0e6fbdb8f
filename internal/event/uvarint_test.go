package event

import (
	"encoding/binary"
	"math"
	"testing"
)

// TestUvarintLen: uvarintLen is the length AppendUvarint writes, at every
// boundary of a byte more.
func TestUvarintLen(t *testing.T) {
	values := []uint64{0, 1, math.MaxUint64}
	for shift := 7; shift < 64; shift += 7 {
		values = append(values, 1<<shift-1, 1<<shift, 1<<shift+1)
	}
	for _, v := range values {
		if got, want := uvarintLen(v), len(binary.AppendUvarint(nil, v)); got != want {
			t.Errorf("uvarintLen(%d) = %d, want %d", v, got, want)
		}
	}
}
