package sqlitestore

import (
	"errors"
	"slices"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestPostingsRoundTrip: a list reads back as written, times before the
// base and ids going back included, and a cut or padded one is refused.
func TestPostingsRoundTrip(t *testing.T) {
	list := []posting{{-3_000_000_000_000, 900}, {-3_000_000_000_000, 901}, {0, 5}, {1_000_000, 4}, {86_400_000_000, 1 << 40}}
	b := encodePostings(list)
	got, err := decodePostings(b, nil)
	if err != nil || !slices.Equal(got, list) {
		t.Fatalf("decoded %v (%v), want %v", got, err, list)
	}
	got, err = decodePostings(b, []posting{{1, 2}})
	if err != nil || !slices.Equal(got, append([]posting{{1, 2}}, list...)) {
		t.Fatalf("appended %v (%v)", got, err)
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(slices.Clone(b), 0), {0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := decodePostings(bad, nil); !errors.Is(err, errBadPostings) {
			t.Errorf("decode %x: %v, want errBadPostings", bad, err)
		}
	}
	if got, err := decodePostings(encodePostings(nil), nil); err != nil || len(got) != 0 {
		t.Errorf("empty list: %v (%v)", got, err)
	}
	// As stored: compressed.
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	ps := &parts{dec: dec}
	if got, err := ps.readPostings(enc.EncodeAll(b, nil), nil); err != nil || !slices.Equal(got, list) {
		t.Errorf("read %v (%v), want %v", got, err, list)
	}
	if _, err := ps.readPostings(b, nil); !errors.Is(err, errBadPostings) {
		t.Errorf("read an uncompressed list: %v, want errBadPostings", err)
	}
}
