//go:build !linux

package cli

import "os/exec"

// dieWithTest is a no-op where the parent's death cannot be signalled to
// the child (the process tests need Linux anyway).
func dieWithTest(*exec.Cmd) {}
