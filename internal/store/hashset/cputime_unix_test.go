//go:build unix

package hashset

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system) this process used so far:
// the benchmarks' measure on a shared machine, and the one that counts
// the kernel's page faults of fresh memory.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
