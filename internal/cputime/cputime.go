// Package cputime reads the CPU time this process has used, user and
// system: the benchmarks' measure on a shared machine, where a wall-clock
// rate mostly measures the neighbours, and the one that counts the
// kernel's share (the page faults of fresh memory, the system calls).
package cputime

import (
	"testing"
	"time"
)

// Process is the CPU time, user and system, the process has used so
// far; 0 where the system does not say (the benchmarks then report 0).
func Process() time.Duration { return process() }

// ReportPerOp adds the CPU time an operation took since start (a
// Process reading) to b's figures, as cpu-ns/op.
func ReportPerOp(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(Process()-start)/float64(b.N), "cpu-ns/op")
}
