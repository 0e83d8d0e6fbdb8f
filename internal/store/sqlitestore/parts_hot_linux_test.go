package sqlitestore

import (
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

// TestHotChunksResident: a hot copy's chunk of rows and of the arena is
// resident whole once made (offheap.MakeResident), before its rows are
// written: one call to the system, not a fault a page as rows are added.
func TestHotChunksResident(t *testing.T) {
	h := &hotCopy{}
	h.add(&partEntry{id: 1, h8: 1, srcFQDN: "be.example."})
	for _, c := range []struct {
		name string
		mem  []byte
	}{
		{"rows", unsafe.Slice((*byte)(unsafe.Pointer(&h.chunks[0].rows[0])), hotChunkRows*int(unsafe.Sizeof(hotRow{})))},
		{"arena", h.arena[0].b},
	} {
		page := syscall.Getpagesize()
		vec := make([]byte, (len(c.mem)+page-1)/page)
		if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&c.mem[0])), uintptr(len(c.mem)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
			t.Skipf("mincore: %v", errno)
		}
		resident := 0
		for _, v := range vec {
			resident += int(v & 1)
		}
		if resident != len(vec) {
			t.Errorf("first chunk of the %s: %d pages of %d resident", c.name, resident, len(vec))
		}
	}
	runtime.KeepAlive(h)
}
