// Package offheap gives large, long-lived tables without pointers memory
// outside the Go heap. On the heap such a table counts toward the
// collector's goal, which lets the heap grow by GOGC percent of it before
// the next collection: a process that runs a pipeline sets GOGC=200, so
// 64 MiB of table would cost up to 192 MiB of resident memory. Off the
// heap a table costs what it is.
package offheap

import (
	"runtime"
	"unsafe"
)

// Make returns n zeroed values of T outside the Go heap, unmapped once
// owner is unreachable; the caller keeps owner reachable (runtime.KeepAlive)
// for as long as it uses the slice. T must hold no pointers: the collector
// does not look into memory outside its heap, so a pointer kept there would
// not keep what it points to alive. Where the system cannot map memory of
// its own, the values are on the heap.
func Make[T, O any](n int, owner *O) []T { return mapTable[T](n, owner, false) }

// MakeScattered is Make for a table read and written all over at random,
// a few bytes at a time (a hash table, a filter): it asks the system for
// huge pages (2 MiB on amd64) where it can give them. Each lookup then
// finds its page in the processor's translation cache instead of walking
// the page tables (under virtualisation, two sets of them), and the table
// is made resident in a few faults, not one per 4 KiB page, each of which
// (the zero page mapped on a first read, then copied on the first write)
// interrupts the process's other threads to flush their translations. A
// table used in only a part stays resident in steps of a huge page: it
// is for tables that fill as a whole.
func MakeScattered[T, O any](n int, owner *O) []T { return mapTable[T](n, owner, true) }

func mapTable[T, O any](n int, owner *O, scattered bool) []T {
	if n <= 0 {
		return nil
	}
	var zero T
	mem := mapAnonymous(n*int(unsafe.Sizeof(zero)), func(cleanup func()) { runtime.AddCleanup(owner, func(struct{}) { cleanup() }, struct{}{}) })
	if mem == nil {
		return make([]T, n)
	}
	if scattered {
		AdviseHugePages(mem)
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&mem[0])), n)
}
