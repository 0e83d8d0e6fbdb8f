//go:build unix

package enricher

import (
	"runtime"
	"syscall"
	"unsafe"
)

// allocSlots returns n zeroed slots outside the Go heap, in memory of
// their own, unmapped once owner is garbage. The fingerprint tables are
// one large, long-lived block without pointers: on the heap they would
// count toward the collector's goal, which lets the heap grow by GOGC
// percent of it before the next collection (a pipeline's process runs at
// 200), so 64 MiB of table would cost up to 192 MiB of RSS. Off the heap they cost what they are.
func allocSlots(n int, owner *Dedup) []uint32 {
	if n == 0 {
		return nil
	}
	mem, err := syscall.Mmap(-1, 0, n*4, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]uint32, n)
	}
	runtime.AddCleanup(owner, func(mem []byte) { _ = syscall.Munmap(mem) }, mem)
	return unsafe.Slice((*uint32)(unsafe.Pointer(&mem[0])), n)
}
