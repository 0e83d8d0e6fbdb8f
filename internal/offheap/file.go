package offheap

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"unsafe"
)

// File is a file of the process's own, removed from its directory as soon
// as it is made, into which tables that are written once and read now and
// then are put and mapped read only. Such a table's pages are resident
// only while they are read: the kernel keeps them as it keeps any file's
// pages, counted in the system's page cache rather than the process's
// memory until a read maps them, and may drop them and read them again.
// Anonymous memory (Make) stays resident once written, for as long as it
// is mapped: with no swap, for good.
type File struct {
	mu  sync.Mutex
	f   *os.File
	end int64 // where the next table goes, a multiple of the page size
}

// errNoFileMapping is returned where the system cannot map files.
var errNoFileMapping = errors.New("offheap: no file mappings on this system")

// CreateFile makes a File in dir; an error where the system cannot map
// files, or the file cannot be made.
func CreateFile(dir string) (*File, error) {
	if !canMapFiles {
		return nil, errNoFileMapping
	}
	f, err := os.CreateTemp(dir, ".vigil-offheap-*")
	if err != nil {
		return nil, err
	}
	// Unlinked at once: the file lives as long as the process holds it
	// open or mapped, and a crash leaves nothing behind.
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return &File{f: f}, nil
}

// Put writes tables one after the other into f and returns them as f
// maps them, read only, in the same order and of the same lengths:
// unmapped once owner is unreachable (the caller keeps owner reachable,
// runtime.KeepAlive, while it reads them). T must hold no pointers.
// Writing into the returned slices faults.
func Put[T, O any](f *File, owner *O, tables ...[]T) ([][]T, error) {
	var zero T
	size := int64(unsafe.Sizeof(zero))
	total := int64(0)
	for _, t := range tables {
		total += int64(len(t)) * size
	}
	out := make([][]T, len(tables))
	if total == 0 || size == 0 {
		return out, nil
	}
	f.mu.Lock()
	if f.f == nil {
		f.mu.Unlock()
		return nil, os.ErrClosed
	}
	at := f.end
	page := int64(os.Getpagesize())
	f.end += (total + page - 1) / page * page
	fd := f.f
	f.mu.Unlock()

	off := at
	for _, t := range tables {
		if len(t) == 0 {
			continue
		}
		b := unsafe.Slice((*byte)(unsafe.Pointer(&t[0])), int64(len(t))*size)
		if _, err := fd.WriteAt(b, off); err != nil {
			return nil, err
		}
		off += int64(len(b))
	}
	mem, err := mapFile(fd, at, int(total))
	runtime.KeepAlive(f)
	if err != nil {
		return nil, err
	}
	runtime.AddCleanup(owner, func(struct{}) { unmap(mem) }, struct{}{})
	pos := 0
	for i, t := range tables {
		if len(t) == 0 {
			continue
		}
		out[i] = unsafe.Slice((*T)(unsafe.Pointer(&mem[pos])), len(t))
		pos += len(t) * int(size)
	}
	return out, nil
}

// Close closes the file; what Put mapped stays readable until unmapped.
func (f *File) Close() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return nil
	}
	err := f.f.Close()
	f.f = nil
	return err
}
