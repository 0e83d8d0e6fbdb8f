package notify

import "testing"

// TestSizedPool: an array from the pool holds the size asked for, an
// array given back serves the next asks of its size class, and one too
// small or too large for a class is not kept.
func TestSizedPool(t *testing.T) {
	var s sizedPool
	for _, size := range []int{0, 1, 16 << 10, 16<<10 + 1, 3 << 20, 1<<maxPooledClass + 1} {
		b := s.get(size)
		if len(*b) != 0 || cap(*b) < size {
			t.Errorf("get(%d): len %d cap %d", size, len(*b), cap(*b))
		}
	}
	b := s.get(100 << 10)
	*b = append(*b, "abc"...)
	s.put(b)
	// sync.Pool may drop what it is given (under the race detector, at
	// random): whatever comes back is empty and large enough.
	if again := s.get(70 << 10); len(*again) != 0 || cap(*again) < 70<<10 {
		t.Errorf("after a put, get: len %d cap %d", len(*again), cap(*again))
	}
	small := make([]byte, 0, 100)
	s.put(&small)
	if b := s.get(10); cap(*b) < 1<<minPooledClass {
		t.Errorf("an array of %d bytes was kept and handed out", cap(*b))
	}
}
