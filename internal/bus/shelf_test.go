package bus

import (
	"testing"
	"time"
	"unsafe"
)

// testShelf is a shelf whose idle timer never fires: the test calls idle
// itself.
func testShelf(t *testing.T, limit int) *shelf {
	never := time.AfterFunc(time.Hour, func() {})
	t.Cleanup(func() { never.Stop() })
	return &shelf{limit: limit, timer: never}
}

// TestShelf: a shelf keeps up to its limit of buffers between the
// smallest and largest it keeps, gives the smallest that has room, and
// lets them all go once a whole idle period passed without a take or a
// put.
func TestShelf(t *testing.T) {
	s := testShelf(t, 3)
	if b := s.take(minShelved); b != nil {
		t.Fatalf("an empty shelf gave a buffer of %d bytes", cap(b))
	}
	s.put(make([]byte, minShelved-1))
	s.put(make([]byte, maxShelved+1))
	if n := s.len(); n != 0 {
		t.Fatalf("the shelf kept %d buffers too small or too large to keep", n)
	}
	small, middle, large := make([]byte, 100<<10), make([]byte, 1<<20), make([]byte, 4<<20)
	for _, b := range [][]byte{large, small, middle, make([]byte, 2<<20)} {
		s.put(b[:10])
	}
	if n := s.len(); n != 3 {
		t.Fatalf("a shelf of 3 holds %d buffers", n)
	}
	for _, c := range []struct {
		n    int
		want []byte
	}{
		{minShelved - 1, nil}, // too small to ask the shelf
		{200 << 10, middle},   // the smallest with room
		{90 << 10, small},
		{5 << 20, nil}, // none with room
		{3 << 20, large},
		{minShelved, nil}, // empty
	} {
		b := s.take(c.n)
		if len(b) != 0 {
			t.Fatalf("take(%d): %d bytes already in it", c.n, len(b))
		}
		if got, want := unsafe.SliceData(b), unsafe.SliceData(c.want); got != want {
			t.Fatalf("take(%d): a buffer of %d bytes, want one of %d", c.n, cap(b), cap(c.want))
		}
	}
	s.put(small)
	s.idle() // used since the timer was set: kept
	if n := s.len(); n != 1 {
		t.Fatalf("a shelf used since its timer was set holds %d buffers after it fired, want 1", n)
	}
	s.idle() // not used for a whole period
	if n := s.len(); n != 0 {
		t.Fatalf("an idle shelf still holds %d buffers", n)
	}
}

// TestEncodeBuffersShelved: encoding a batch takes its buffers from
// plainShelf and puts them back, so that the next batch is written into
// the same memory, not into new.
func TestEncodeBuffersShelved(t *testing.T) {
	saved := plainShelf
	t.Cleanup(func() { plainShelf = saved })
	plainShelf = testShelf(t, 8) // room for buffers that were not taken again
	events := benchEvents(t, 500)
	// The first batches find the size of an event (the next batch's
	// room) and the buffers of that size.
	for range 3 {
		encodeBatch(events)
	}
	shelved := func() map[*byte]int {
		plainShelf.mu.Lock()
		defer plainShelf.mu.Unlock()
		m := map[*byte]int{}
		for _, b := range plainShelf.bufs {
			m[unsafe.SliceData(b)] = cap(b)
		}
		return m
	}
	before := shelved()
	if len(before) < 2 {
		t.Fatalf("after a batch, plainShelf holds %d buffers, want the plain batch's and S2's output's", len(before))
	}
	encodeBatch(events)
	after := shelved()
	for p, c := range after {
		if _, ok := before[p]; !ok {
			t.Fatalf("the next batch was written into a new buffer of %d bytes, with %d on the shelf", c, len(before))
		}
	}
	if len(after) != len(before) {
		t.Fatalf("plainShelf holds %d buffers after another batch, want the same %d", len(after), len(before))
	}
}
