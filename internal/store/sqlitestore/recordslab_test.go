package sqlitestore

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/vigil-cert/vigil/internal/store"
)

// TestRecordSlabs: the records of pages sized one after the other lie
// end to end in one slab, each page's capped to its room (so that
// appending past it copies rather than writes into the next page's), a
// new slab begins when the rest is too small, and the advised ranges
// start and end on huge pages' boundaries.
func TestRecordSlabs(t *testing.T) {
	var s recordSlabs
	full := &store.PendingPage{Records: make([]byte, store.PendingPageBytes)}
	room := full.RecordRoom()
	var pages []*store.PendingPage
	for range recordSlabBytes/room + 1 {
		pages = append(pages, s.sized(full))
	}
	address := func(p *store.PendingPage) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(p.Records))) }
	for i, p := range pages {
		if len(p.Records) != 0 || cap(p.Records) != room {
			t.Fatalf("page %d: records of len %d, cap %d; want 0, %d", i, len(p.Records), cap(p.Records), room)
		}
	}
	for i := 1; i < recordSlabBytes/room; i++ {
		if got, want := address(pages[i]), address(pages[i-1])+uintptr(room); got != want {
			t.Errorf("page %d's records at %#x, want %#x (just after page %d's)", i, got, want, i-1)
		}
	}
	last := pages[len(pages)-1]
	if prev := pages[len(pages)-2]; address(last) == address(prev)+uintptr(room) {
		t.Errorf("page %d's records in a full slab", len(pages)-1)
	}
	last.Records = append(last.Records, make([]byte, room+1)...)
	if address(last) == address(pages[len(pages)-2])+uintptr(room) {
		t.Error("records grown past their room still in the slab")
	}
	if runtime.GOOS == "linux" && len(s.advised) == 0 {
		t.Error("no slab advised")
	}
	for _, r := range s.advised {
		at := uintptr(unsafe.Pointer(unsafe.SliceData(r)))
		if at%hugePageBytes != 0 || len(r)%hugePageBytes != 0 || len(r) == 0 {
			t.Errorf("advised %d bytes at %#x: not whole huge pages", len(r), at)
		}
	}
	s.done()
	if s.advised != nil || s.slab != nil {
		t.Error("done left advice or room")
	}
}

// TestRecordSlabsHandOver: a page handed over has its records capped to
// what they hold, and the next page's records start just after them in
// the slab; records that are not the last room taken (grown elsewhere)
// are capped only, and leave the slab as it was.
func TestRecordSlabsHandOver(t *testing.T) {
	var s recordSlabs
	defer s.done()
	full := &store.PendingPage{Records: make([]byte, 1000)}
	room := full.RecordRoom()
	address := func(p *store.PendingPage) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(p.Records))) }
	first := s.sized(full)
	first.Records = append(first.Records, make([]byte, 600)...)
	s.handOver(first)
	if len(first.Records) != 600 || cap(first.Records) != 600 {
		t.Fatalf("handed over: records of len %d, cap %d; want 600, 600", len(first.Records), cap(first.Records))
	}
	second := s.sized(full)
	if got, want := address(second), address(first)+600; got != want {
		t.Fatalf("next page's records at %#x, want %#x (just after the first's 600 bytes)", got, want)
	}
	if cap(second.Records) != room {
		t.Fatalf("next page's room %d, want %d", cap(second.Records), room)
	}
	// Grown past its room: copied out of the slab, which keeps the room.
	second.Records = append(second.Records, make([]byte, room+1)...)
	s.handOver(second)
	if cap(second.Records) != room+1 {
		t.Fatalf("grown page's records: cap %d, want %d", cap(second.Records), room+1)
	}
	third := s.sized(full)
	if got, want := address(third), address(first)+600+uintptr(room); got != want {
		t.Fatalf("page after a grown one at %#x, want %#x (after the grown page's room)", got, want)
	}
}

// TestRecordSlabsAdvice: on Linux, a slab's range is marked for huge
// pages (the mapping's "hg" flag in /proc/self/smaps) until done, then
// not (MADV_NOHUGEPAGE's "nh").
func TestRecordSlabsAdvice(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("huge pages are advised on Linux only")
	}
	var s recordSlabs
	s.take(1)
	if len(s.advised) == 0 {
		t.Skip("the kernel refused MADV_HUGEPAGE (no transparent huge pages)")
	}
	r := s.advised[0]
	at := uintptr(unsafe.Pointer(unsafe.SliceData(r)))
	if flags := vmFlags(t, at); !strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("advised range's flags %q, want hg", flags)
	}
	s.done()
	if flags := vmFlags(t, at); strings.Contains(" "+flags+" ", " hg ") || !strings.Contains(" "+flags+" ", " nh ") {
		t.Errorf("flags after done %q, want nh and not hg", flags)
	}
	runtime.KeepAlive(r)
}

// vmFlags returns the VmFlags line of the mapping of /proc/self/smaps
// that holds address at.
func vmFlags(t *testing.T, at uintptr) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	in := false
	for line := range strings.Lines(string(b)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if from, to, ok := strings.Cut(fields[0], "-"); ok && !strings.HasSuffix(fields[0], ":") { // a mapping's first line
			lo, err1 := strconv.ParseUint(from, 16, 64)
			hi, err2 := strconv.ParseUint(to, 16, 64)
			in = err1 == nil && err2 == nil && uint64(at) >= lo && uint64(at) < hi
			continue
		}
		if flags, ok := strings.CutPrefix(strings.TrimSpace(line), "VmFlags:"); ok && in {
			return strings.TrimSpace(flags)
		}
	}
	t.Fatalf("no mapping holds %#x", at)
	return ""
}
