//go:build !linux

package cli

import "os/exec"

// startChild starts cmd; where the parent's death cannot be signalled to
// the child it outlives a test that times out.
func startChild(cmd *exec.Cmd) error { return cmd.Start() }
