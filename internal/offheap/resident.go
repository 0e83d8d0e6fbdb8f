package offheap

import "unsafe"

// MakeResident is Make for a table written soon after it is made, in
// order and whole (rows appended to a chunk): its pages are made
// resident at once, in one call to the system (Linux), rather than
// faulted in one at a time as the writes first reach each 4 KiB page.
// Under virtualisation each fault is a trip through the hypervisor: a
// chunk of 416 KiB written after MakeResident cost 0.6–0.7 ms of the
// process's CPU against 1.2–1.3 ms after Make, and half the time
// elapsed (docs/PERFORMANCE.md, the store-s39 helper). A table partly
// used is resident whole: it is for tables that fill.
func MakeResident[T, O any](n int, owner *O) []T {
	table := Make[T](n, owner)
	if len(table) > 0 {
		populate(unsafe.Slice((*byte)(unsafe.Pointer(&table[0])), len(table)*int(unsafe.Sizeof(table[0]))))
	}
	return table
}
