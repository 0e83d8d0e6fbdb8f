package sqlitestore

// Where the records of the queue's pages that a pass keeps are placed.

import (
	"unsafe"

	"github.com/vigil-cert/vigil/internal/offheap"
	"github.com/vigil-cert/vigil/internal/store"
)

// recordSlabs places the records of the pages readSegments hands over
// for good in slabs of recordSlabBytes, each of whose 2 MiB-aligned
// interior is asked to be backed by huge pages (offheap.AdviseHugePages) before
// it is first written. A morning's queue holds some 280 MB of records
// from its read to the pass's end, all of it fresh memory. On the
// reference machine, a virtual machine, the first write to a fresh
// 4 KiB page costs a fault in the guest and, charged to the copy that
// writes it, the host's backing of the page; a 2 MiB page costs one
// fault and one zeroing, and the copies into it run at memory speed:
// the read of the queue took about a third less CPU in the pass
// profiled (docs/PERFORMANCE.md, fourteenth session, the notify-s38
// helper).
//
// The slabs are ordinary Go memory: a record's string keeps its slab
// alive as long as the string lives, as a page of its own would, and the
// collector frees it. The advice is withdrawn (done) once the read
// ends: the huge pages already faulted stay, but once the collector has
// freed a slab, and the runtime has given its memory back, the same
// addresses serve other objects in 4 KiB pages, as the runtime means
// them to (it gives no such advice for its heap; on a system whose
// transparent huge pages are "always" rather than "madvise", these
// addresses are then left out of them).
//
// Used by one goroutine.
type recordSlabs struct {
	slab []byte // the current slab
	// used is how much of slab is taken, from its start; last is where
	// the last room taken (take) starts, for handOver.
	used, last int
	advised    [][]byte // the ranges advised, for done
}

// recordSlabBytes is the size of a slab: some fifteen pages' records,
// so that a slab wastes at most a page's room at its end (a page is
// handed over at store.PendingPageBytes of records, with an eighth
// more room) and the last, partly used slab of each of the read's two
// goroutines holds at most this much more than its pages count.
const recordSlabBytes = 16 << 20

// hugePageBytes is the size of the huge pages of x86-64 and arm64 (with
// 4 KiB base pages), the alignment asked of the advised ranges.
const hugePageBytes = 2 << 20

// take returns an empty slice of capacity n in the current slab, or in
// a new one.
func (s *recordSlabs) take(n int) []byte {
	if len(s.slab)-s.used < n {
		s.slab, s.used = make([]byte, max(n, recordSlabBytes)), 0
		if r := hugePageRange(s.slab); len(r) > 0 && offheap.AdviseHugePages(r) {
			s.advised = append(s.advised, r)
		}
	}
	s.last, s.used = s.used, s.used+n
	return s.slab[s.last:s.last:s.used]
}

// handOver caps p's records to what they hold and, when they are the
// last room taken from the current slab, gives the rest of that room
// back to the slab for the next page's: p is handed over for good, so
// never written to again. A page's room is its previous page's records
// and an eighth more (PendingPage.RecordRoom), of which a morning's
// thousand pages left some 36 MB unused: fresh memory, faulted in (a huge
// page is zeroed whole) and counted in the pass's room for nothing.
func (s *recordSlabs) handOver(p *store.PendingPage) {
	n := len(p.Records)
	if s.used > s.last && cap(p.Records) == s.used-s.last && unsafe.SliceData(p.Records) == &s.slab[s.last] {
		s.used = s.last + n
	}
	p.Records = p.Records[:n:n]
}

// sized returns a new page like p.Sized, its records in a slab.
func (s *recordSlabs) sized(p *store.PendingPage) *store.PendingPage {
	return p.SizedWith(s.take(p.RecordRoom()))
}

// sizedLike returns a new page sized like full (nil when nil): a
// segment's first page made the size of a full page of the segment
// before, rather than grown from nothing again, which would allocate
// some 2 MB of fresh memory a segment.
func (s *recordSlabs) sizedLike(full *store.PendingPage) *store.PendingPage {
	if full == nil {
		return nil
	}
	return s.sized(full)
}

// done withdraws the advice from every slab advised so far; the slabs
// themselves stay as they are, and a later take starts a new one.
func (s *recordSlabs) done() {
	for _, r := range s.advised {
		offheap.WithdrawHugePages(r)
	}
	s.advised, s.slab, s.used, s.last = nil, nil, 0, 0
}

// hugePageRange returns the part of b that starts and ends on a huge
// page's boundary (empty when there is none).
func hugePageRange(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (base + hugePageBytes - 1) &^ (hugePageBytes - 1)
	hi := (base + uintptr(len(b))) &^ (hugePageBytes - 1)
	if hi <= lo {
		return nil
	}
	return b[lo-base : hi-base : hi-base]
}
