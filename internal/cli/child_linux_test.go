package cli

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// startChild starts cmd so that it is killed when the test binary ends,
// however it ends: a test that times out panics without running its
// cleanups, and a `vigil serve` it started would otherwise run on beside
// the next runs.
//
// Linux sends the parent-death signal when the thread that started the
// child ends, not the process (prctl(2), PR_SET_PDEATHSIG; Go issue
// 27505), and the Go runtime ends a thread whose goroutine exits while
// locked to it. So every child is started by one goroutine locked to its
// thread for the test binary's whole life: that thread ends only with
// the process.
func startChild(cmd *exec.Cmd) error {
	spawnerOnce.Do(func() {
		spawns = make(chan spawn)
		go func() {
			runtime.LockOSThread() // and never unlocked: see above
			for s := range spawns {
				s.done <- s.cmd.Start()
			}
		}()
	})
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	done := make(chan error, 1)
	spawns <- spawn{cmd, done}
	return <-done
}

type spawn struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	spawnerOnce sync.Once
	spawns      chan spawn
)
