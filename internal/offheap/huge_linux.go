package offheap

import "syscall"

// adviseHugePages asks for mem to be backed by huge pages, which Linux
// gives an anonymous mapping when transparent huge pages are "always" or,
// as Debian sets them, "madvise". Advice refused changes nothing: the
// table works on small pages.
func adviseHugePages(mem []byte) { _ = syscall.Madvise(mem, syscall.MADV_HUGEPAGE) }
