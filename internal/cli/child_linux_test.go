package cli

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes the child process killed when the test binary ends,
// however it ends: a test that times out panics without running its
// cleanups, and a `vigil serve` it started would otherwise run on.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
