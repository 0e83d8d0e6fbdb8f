package notify

// Arrays for the messages of a pass, kept for reuse by size: a morning's
// pass writes some 900 MB of entities and signed messages, which each
// worker needs only until the message is packed. Allocated afresh, every
// array is cleared first and collected after.

import (
	"math/bits"
	"sync"
)

// The sizes of pooled arrays are powers of two from 16 KB to 16 MB; a
// larger one is allocated for its message alone.
const (
	minPooledClass = 14
	maxPooledClass = 24
)

// sizedPool keeps byte arrays for reuse, by their capacity's power of two.
type sizedPool struct {
	classes [maxPooledClass - minPooledClass + 1]sync.Pool
}

// get returns an empty array of at least size bytes' capacity.
func (s *sizedPool) get(size int) *[]byte {
	c := max(minPooledClass, bits.Len(uint(max(size, 1)-1)))
	if c > maxPooledClass {
		b := make([]byte, 0, size)
		return &b
	}
	if b, ok := s.classes[c-minPooledClass].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 1<<c)
	return &b
}

// put keeps b for reuse (when its size is pooled); what b held must not
// be used after.
func (s *sizedPool) put(b *[]byte) {
	if b == nil {
		return
	}
	// The class whose size b's capacity holds at least.
	c := bits.Len(uint(cap(*b))) - 1
	if c < minPooledClass || c > maxPooledClass {
		return
	}
	*b = (*b)[:0]
	s.classes[c-minPooledClass].Put(b)
}

// putAll puts every array of list.
func (s *sizedPool) putAll(list []*[]byte) {
	for _, b := range list {
		s.put(b)
	}
}
