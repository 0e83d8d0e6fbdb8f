package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestProcessCountsWork: 200 ms of spinning show in the process's CPU
// time, which never goes back.
func TestProcessCountsWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no process CPU time on " + runtime.GOOS)
	}
	before := Process()
	x := 0
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
		x++
	}
	after := Process()
	if after <= before || after-before < 50*time.Millisecond {
		t.Fatalf("Process went from %v to %v over 200 ms of spinning (x=%d)", before, after, x)
	}
}
