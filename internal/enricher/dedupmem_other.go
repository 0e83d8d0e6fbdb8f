//go:build !unix

package enricher

// allocSlots returns n zeroed slots on the heap: without mmap there is
// no memory of their own to give them.
func allocSlots(n int, _ *Dedup) []uint32 { return make([]uint32, n) }
