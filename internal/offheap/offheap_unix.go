//go:build unix

package offheap

import (
	"os"
	"syscall"
)

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

const canMapFiles = true

// mapFile maps size bytes of f from off (a multiple of the page size)
// read only, shared: the pages are the file's in the page cache.
func mapFile(f *os.File, off int64, size int) ([]byte, error) {
	return syscall.Mmap(int(f.Fd()), off, size, syscall.PROT_READ, syscall.MAP_SHARED)
}

func unmap(mem []byte) { _ = syscall.Munmap(mem) }
