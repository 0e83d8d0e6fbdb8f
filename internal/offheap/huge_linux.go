package offheap

import "syscall"

// AdviseHugePages asks for mem, not yet written, to be backed by huge
// pages, which Linux gives an anonymous mapping when transparent huge
// pages are "always" or, as Debian sets them, "madvise" (MADV_HUGEPAGE),
// and reports whether the advice was taken. Advice refused changes
// nothing: the memory works on small pages. It serves the tables here
// and memory of the Go heap that a caller fills as a whole
// (sqlitestore's record slabs).
func AdviseHugePages(mem []byte) bool {
	return syscall.Madvise(mem, syscall.MADV_HUGEPAGE) == nil
}

// WithdrawHugePages withdraws AdviseHugePages's advice from mem
// (MADV_NOHUGEPAGE): the huge pages already there stay until mem's
// memory is given back, and the same addresses are then backed by
// small pages again.
func WithdrawHugePages(mem []byte) { _ = syscall.Madvise(mem, syscall.MADV_NOHUGEPAGE) }
