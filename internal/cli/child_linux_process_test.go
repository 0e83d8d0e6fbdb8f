package cli

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestChildOutlivesThreadsNotTheBinary: a child started by startChild
// lives on when a goroutine locked to a thread exits (which ends that
// thread: the way a child started with Pdeathsig from any thread could be
// killed in the middle of a test), and dies when the test binary ends.
func TestChildOutlivesThreadsNotTheBinary(t *testing.T) {
	if os.Getenv("VIGIL_CHILD_HELPER") == "1" {
		// The helper binary: starts a child, says its pid, and ends
		// without waiting for it.
		child := exec.Command("sleep", "300")
		if err := startChild(child); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Println(child.Process.Pid)
		os.Exit(0)
	}
	alive := func(pid int) bool {
		// A zombie (exited, not yet reaped) counts as dead.
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return false
		}
		var state byte
		for i := len(raw) - 1; i > 0; i-- {
			if raw[i] == ')' && i+2 < len(raw) {
				state = raw[i+2]
				break
			}
		}
		return state != 'Z' && state != 'X'
	}

	// Started from a goroutine locked to its thread, which then exits
	// and so ends that thread: a child started there with Pdeathsig
	// alone would be killed.
	child := exec.Command("sleep", "300")
	started := make(chan error)
	go func() {
		runtime.LockOSThread()
		if syscall.Gettid() == os.Getpid() {
			// The process's main thread is never ended: try another.
			defer runtime.UnlockOSThread()
			go func() {
				runtime.LockOSThread()
				started <- startChild(child)
			}()
			return
		}
		started <- startChild(child)
	}()
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	time.Sleep(200 * time.Millisecond)
	if !alive(child.Process.Pid) {
		t.Fatal("the child died when threads of the test binary ended")
	}

	helper := exec.Command(os.Args[0], "-test.run=^TestChildOutlivesThreadsNotTheBinary$")
	helper.Env = append(os.Environ(), "VIGIL_CHILD_HELPER=1")
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	helper.Wait()
	pid, err := strconv.Atoi(line[:max(len(line)-1, 0)])
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatal("the helper's child outlived the helper")
	}
}
