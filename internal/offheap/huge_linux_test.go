package offheap

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestMakeScatteredAdvisesHugePages: the mapping MakeScattered returns
// is marked for huge pages (VmFlags "hg" in /proc/self/smaps), Make's is
// not; both are zeroed and writable.
func TestMakeScatteredAdvisesHugePages(t *testing.T) {
	const n = 1 << 20 // 4 MiB of uint32
	o := &owner{}
	for _, tt := range []struct {
		name string
		make func(int, *owner) []uint32
		want bool
	}{
		{"Make", Make[uint32, owner], false},
		{"MakeScattered", MakeScattered[uint32, owner], true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			table := tt.make(n, o)
			if len(table) != n {
				t.Fatalf("%d values, want %d", len(table), n)
			}
			for i := range table {
				if table[i] != 0 {
					t.Fatalf("value %d is %d, not zero", i, table[i])
				}
				table[i] = uint32(i)
			}
			advised, err := hugePagesAdvised(uintptr(unsafe.Pointer(&table[0])))
			if err != nil {
				t.Skipf("cannot read the mapping's flags: %v", err)
			}
			if advised != tt.want {
				t.Errorf("huge pages advised: %v, want %v", advised, tt.want)
			}
		})
	}
}

// hugePagesAdvised reports whether the mapping holding addr has the
// huge-page advice, from /proc/self/smaps.
func hugePagesAdvised(addr uintptr) (bool, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return false, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	in := false
	for s.Scan() {
		line := s.Text()
		if from, to, ok := mappingRange(line); ok {
			in = from <= addr && addr < to
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.Contains(" "+strings.TrimPrefix(line, "VmFlags:")+" ", " hg "), nil
		}
	}
	if err := s.Err(); err != nil {
		return false, err
	}
	return false, fmt.Errorf("no mapping holds %#x", addr)
}

// mappingRange reads the address range of a mapping's first line in
// smaps ("7f12a000-7f12c000 rw-p ...").
func mappingRange(line string) (from, to uintptr, ok bool) {
	r, _, found := strings.Cut(line, " ")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(r, "-")
	if !found {
		return 0, 0, false
	}
	x, err1 := strconv.ParseUint(a, 16, 64)
	y, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uintptr(x), uintptr(y), true
}
