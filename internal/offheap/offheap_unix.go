//go:build unix

package offheap

import "syscall"

// mapAnonymous maps size bytes of zeroed memory and gives release the
// unmapping to run when the owner is garbage; nil when the system
// refuses.
func mapAnonymous(size int, release func(func())) []byte {
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	release(func() { _ = syscall.Munmap(mem) })
	return mem
}
