//go:build !unix

package offheap

import "os"

// mapAnonymous has no memory of its own to give without mmap.
func mapAnonymous(int, func(func())) []byte { return nil }

const canMapFiles = false

func mapFile(*os.File, int64, int) ([]byte, error) { return nil, errNoFileMapping }

func unmap([]byte) {}
