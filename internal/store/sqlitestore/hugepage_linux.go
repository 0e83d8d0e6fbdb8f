package sqlitestore

import "golang.org/x/sys/unix"

// adviseHugePages asks the kernel to back b, not yet written, with
// transparent huge pages (MADV_HUGEPAGE, which a system whose
// /sys/kernel/mm/transparent_hugepage/enabled is "madvise", Debian's
// default, needs), and reports whether it took the advice.
func adviseHugePages(b []byte) bool {
	return unix.Madvise(b, unix.MADV_HUGEPAGE) == nil
}

// withdrawHugePages withdraws adviseHugePages's advice from b
// (MADV_NOHUGEPAGE: the huge pages already there stay until b's memory
// is given back).
func withdrawHugePages(b []byte) {
	_ = unix.Madvise(b, unix.MADV_NOHUGEPAGE)
}
