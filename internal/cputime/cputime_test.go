package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestProcessCountsWork: spinning shows in the process's CPU time, which
// never goes back. The spin runs until 50 ms of CPU are counted, not for
// a fixed wall time, so that a loaded machine (which gives the process
// little of each second) makes it slower, not wrong; it fails when a
// minute of spinning counts nothing like that.
func TestProcessCountsWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no process CPU time on " + runtime.GOOS)
	}
	before := Process()
	last, x := before, 0
	for start := time.Now(); last-before < 50*time.Millisecond; x++ {
		if x%1024 == 0 {
			now := Process()
			if now < last {
				t.Fatalf("Process went back from %v to %v", last, now)
			}
			last = now
			if time.Since(start) > time.Minute {
				t.Fatalf("Process went from %v to %v over a minute of spinning (x=%d)", before, last, x)
			}
		}
	}
}
