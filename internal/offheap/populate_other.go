//go:build !linux

package offheap

// populate has no way outside Linux to make memory resident in one call:
// its pages are faulted as they are written.
func populate([]byte) {}
