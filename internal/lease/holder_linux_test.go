package lease

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
	"github.com/vigil-cert/vigil/internal/syncbuf"
)

// helperEnv names the database in which the test binary, started again
// as a helper process, holds the lease "notify" (holdInHelper).
const helperEnv = "VIGIL_LEASE_HELPER_DB"

func TestMain(m *testing.M) {
	if db := os.Getenv(helperEnv); db != "" {
		holdInHelper(db)
		return
	}
	os.Exit(m.Run())
}

// holdInHelper holds the lease "notify" on db for an hour, says its
// holder's name on stdout once its job runs, and runs until killed.
func holdInHelper(db string) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, db, sqlitestore.Options{Logger: quiet})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	holder := Holder()
	err = Hold(ctx, st, "notify", Options{Holder: holder, TTL: time.Hour, Logger: quiet}, func(ctx context.Context) error {
		fmt.Println(holder)
		<-ctx.Done()
		return nil
	})
	fmt.Fprintln(os.Stderr, "Hold returned:", err)
	os.Exit(2)
}

// startHelper starts the test binary as a helper process holding the
// lease "notify" on db, and returns it and its holder's name.
func startHelper(t *testing.T, db string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+db)
	cmd.Stderr = os.Stderr
	// Killed with the test binary, should it end first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the helper said no holder: %v", err)
	}
	return cmd, strings.TrimSuffix(line, "\n")
}

// endedProcess returns the PID and start time of a process that ran and
// was waited for.
func endedProcess(t *testing.T) (int, uint64) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	st, err := readStat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	return cmd.Process.Pid, st.start
}

func TestDeadHolder(t *testing.T) {
	here, start, ok := thisProcess()
	if !ok {
		t.Fatal("this process does not know its machine from /proc")
	}
	self := process{machine: here, pid: os.Getpid(), start: start, random: "00000000"}
	endedPID, endedStart := endedProcess(t)
	ended := process{machine: here, pid: endedPID, start: endedStart, random: "00000000"}
	elsewhere := func(p process, change func(*machine)) process {
		change(&p.machine)
		return p
	}
	for _, tt := range []struct {
		name   string
		holder string
		dead   bool
	}{
		{"this process", self.String(), false},
		{"this process, as Holder names it", Holder(), false},
		{"a process ended", ended.String(), true},
		{"the PID of this process, started at another time (a reused PID)", process{machine: here, pid: os.Getpid(), start: start + 1, random: "00000000"}.String(), true},
		{"a process ended, of another host", elsewhere(ended, func(m *machine) { m.host += ".elsewhere" }).String(), false},
		{"a process ended, of another boot", elsewhere(ended, func(m *machine) { m.boot = "00000000-0000-4000-8000-000000000000" }).String(), false},
		{"a process ended, of another PID namespace", elsewhere(ended, func(m *machine) { m.pidNamespace++ }).String(), false},
		{"a process ended, named as before", fmt.Sprintf("%s/%d/00000000", here.host, endedPID), false},
		{"a name given in Options", "process-1", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, dead := deadHolder(tt.holder); dead != tt.dead {
				t.Errorf("deadHolder(%q) = %v, want %v", tt.holder, dead, tt.dead)
			}
		})
	}
}

// TestZombieIsDead: a process killed and not yet waited for by its
// parent is dead.
func TestZombieIsDead(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	st, err := readStat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if gone(cmd.Process.Pid, st.start) {
		t.Fatal("a running process is judged gone")
	}
	cmd.Process.Kill()
	// Its zombie appears some moment after the signal: gone says so then.
	for !gone(cmd.Process.Pid, st.start) {
		time.Sleep(time.Millisecond)
	}
	if now, err := readStat(cmd.Process.Pid); err != nil || now.state != 'Z' {
		t.Fatalf("the killed process is %q, %v; want a zombie", now.state, err)
	}
}

// TestTakeOverFromTheKilled: a process holding the lease for an hour is
// killed with SIGKILL; another process of this machine takes the lease
// over at once (with a lease of an hour, waiting for it to expire would
// outlast the test), and says from whom. Reaped or still a zombie, the
// killed process is dead alike.
func TestTakeOverFromTheKilled(t *testing.T) {
	for _, reap := range []bool{true, false} {
		t.Run(map[bool]string{true: "reaped", false: "zombie"}[reap], func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "vigil.db")
			st := openStoreAt(t, db)
			helper, dead := startHelper(t, db)
			if held, err := st.TakeLease(t.Context(), "notify", "onlooker", time.Now(), time.Hour); err != nil || held != dead {
				t.Fatalf("the lease is held by %q, %v; want the helper, %q", held, err, dead)
			}
			if _, ok := deadHolder(dead); ok {
				t.Fatalf("the helper, running, is judged dead")
			}
			if err := helper.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if reap {
				helper.Wait()
			} else {
				// The zombie may appear some moment after the signal.
				waitUntil(t, "the killed helper is a zombie", func() bool { _, ok := deadHolder(dead); return ok })
			}

			var log syncbuf.Buffer
			var r running
			ctx, stop := context.WithCancel(t.Context())
			defer stop()
			done := make(chan error, 1)
			go func() {
				done <- Hold(ctx, st, "notify", Options{Holder: "restarted", TTL: time.Hour, Logger: slog.New(slog.NewTextHandler(&log, nil))},
					r.job("restarted"))
			}()
			waitUntil(t, "the restarted process takes the lease over (not in an hour)", func() bool { return r.has("restarted") })
			if got := log.String(); !strings.Contains(got, "taken over at once from a dead process") ||
				!strings.Contains(got, fmt.Sprintf("dead_holder=%q", dead)) || !strings.Contains(got, fmt.Sprintf("dead_pid=%d", helper.Process.Pid)) {
				t.Errorf("the log does not say from which dead process the lease was taken:\n%s", got)
			}
			if strings.Contains(log.String(), "waiting") {
				t.Errorf("the restarted process waited:\n%s", log.String())
			}
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTakeOverFromTheKilledAtOnce: of two processes that find the lease
// of a killed one at once, one takes it over and the other waits.
func TestTakeOverFromTheKilledAtOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "vigil.db")
	st := openStoreAt(t, db)
	helper, _ := startHelper(t, db)
	helper.Process.Kill()
	helper.Wait()

	var r running
	var logs [2]syncbuf.Buffer
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	done := make(chan error, 2)
	for i := range 2 {
		holder := fmt.Sprint("restarted-", i)
		go func() {
			done <- Hold(ctx, st, "notify", Options{Holder: holder, TTL: time.Hour, Logger: slog.New(slog.NewTextHandler(&logs[i], nil))}, r.job(holder))
		}()
	}
	// One runs the job, and the other has tried and waits (for an hour).
	waitUntil(t, "one takes the lease over and the other waits", func() bool {
		return r.has("restarted-0") != r.has("restarted-1") &&
			strings.Contains(logs[0].String()+logs[1].String(), "waiting to take over")
	})
	stop()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if r.has("restarted-0") && r.has("restarted-1") || r.most.Load() != 1 {
		t.Errorf("both took the lease over (%d jobs at once)\n%s\n%s", r.most.Load(), logs[0].String(), logs[1].String())
	}
}
