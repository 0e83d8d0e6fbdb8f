//go:build unix

package enricher

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) the process has used:
// on a shared, loaded machine ns/op counts the waits for a core too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
