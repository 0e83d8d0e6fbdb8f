package offheap

import (
	"syscall"
	"testing"
	"unsafe"
)

// TestMakeResidentIsResident: every page of MakeResident's table is
// resident before it is written (mincore), none of Make's; both are
// zeroed.
func TestMakeResidentIsResident(t *testing.T) {
	const n = 416 << 10 / 8 // a hot chunk's size, in uint64
	o := &owner{}
	for _, tt := range []struct {
		name string
		make func(int, *owner) []uint64
		want int // pages resident, of n*8/page
	}{
		{"Make", Make[uint64, owner], 0},
		{"MakeResident", MakeResident[uint64, owner], n * 8 / syscall.Getpagesize()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			table := tt.make(n, o)
			resident, err := residentPages(unsafe.Slice((*byte)(unsafe.Pointer(&table[0])), n*8))
			if err != nil {
				t.Skipf("mincore: %v", err)
			}
			if resident != tt.want {
				t.Errorf("%d pages resident, want %d", resident, tt.want)
			}
			for i, v := range table {
				if v != 0 {
					t.Fatalf("value %d is %d, not zero", i, v)
				}
			}
		})
	}
}

// residentPages counts mem's resident pages (mem starts on a page).
func residentPages(mem []byte) (int, error) {
	page := syscall.Getpagesize()
	vec := make([]byte, (len(mem)+page-1)/page)
	if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		return 0, errno
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n, nil
}
