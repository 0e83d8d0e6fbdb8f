//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlitestore

import "os"

// tryLockFile does not lock on systems without flock: there, running two
// processes on one parts database is left to the operator (EVENTSTORE.md).
func tryLockFile(*os.File) (busy bool, err error) { return false, nil }
