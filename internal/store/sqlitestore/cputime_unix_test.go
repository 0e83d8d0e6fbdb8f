//go:build unix

package sqlitestore

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process used so far. Benchmarks report
// events per CPU second next to events per second because the machines
// they run on are often shared, where wall-clock rates mostly measure the
// neighbours.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
