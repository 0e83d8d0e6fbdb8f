package sqlitestore

// The parts layout's writer lock: a process keeps the next event id, the
// dictionary and the hot partition in memory, so a second process writing
// the same database would give ids twice and miss the other's events in
// its hot copy. The first store to open the layout takes an exclusive lock
// on a file beside the database and keeps it until Close; a second one,
// in this process or another, is refused with ErrLayoutInUse.

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrLayoutInUse is returned by Migrate when another store, in this
// process or another, has the same database's parts layout open.
var ErrLayoutInUse = errors.New("the database's parts event layout is open elsewhere, in another process or store (one at a time may open it)")

// partsLockPath is the lock file of the database whose WAL is walFile.
func partsLockPath(walFile string) string {
	return strings.TrimSuffix(walFile, "-wal") + "-parts.lock"
}

// lockParts takes the parts layout's lock of the database whose WAL is
// walFile, or returns ErrLayoutInUse.
func lockParts(walFile string) (*os.File, error) {
	path := partsLockPath(walFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	busy, err := tryLockFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if busy {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, ErrLayoutInUse)
	}
	return f, nil
}
