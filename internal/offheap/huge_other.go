//go:build !linux

package offheap

// adviseHugePages has no advice to give outside Linux: the table is on
// the pages the system gives.
func adviseHugePages([]byte) {}
