package offheap

import "syscall"

// madvPopulateWrite is MADV_POPULATE_WRITE (Linux 5.14): the range's
// pages faulted in, writable, in one call.
const madvPopulateWrite = 23

// populate makes mem resident. A kernel that does not know the advice
// refuses it, and memory on the Go heap (Make's fallback) may not start
// on a page: either way mem's pages are faulted as they are written.
func populate(mem []byte) { _ = syscall.Madvise(mem, madvPopulateWrite) }
