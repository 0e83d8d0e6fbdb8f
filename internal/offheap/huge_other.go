//go:build !linux

package offheap

// AdviseHugePages has no advice to give outside Linux: the memory is on
// the pages the system gives.
func AdviseHugePages([]byte) bool { return false }

// WithdrawHugePages has no advice to withdraw outside Linux.
func WithdrawHugePages([]byte) {}
