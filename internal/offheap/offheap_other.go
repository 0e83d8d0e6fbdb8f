//go:build !unix

package offheap

// mapAnonymous has no memory of its own to give without mmap.
func mapAnonymous(int, func(func())) []byte { return nil }
