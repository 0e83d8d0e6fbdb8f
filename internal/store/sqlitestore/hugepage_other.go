//go:build !linux

package sqlitestore

// adviseHugePages gives no advice off Linux: the records are placed in
// the system's ordinary pages.
func adviseHugePages([]byte) bool { return false }

func withdrawHugePages([]byte) {}
