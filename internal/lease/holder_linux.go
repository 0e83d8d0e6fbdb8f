package lease

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// thisMachine returns the machine this process runs on, false when /proc
// does not tell.
func thisMachine() (machine, bool) {
	// A /proc mounted for another PID namespace (unshare without a new
	// mount) shows other processes under these PIDs: judge nothing then.
	if self, err := os.Readlink("/proc/self"); err != nil || self != strconv.Itoa(os.Getpid()) {
		return machine{}, false
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return machine{}, false
	}
	m := machine{boot: string(bytes.TrimSpace(boot))}
	link, err := os.Readlink("/proc/self/ns/pid") // pid:[4026531836]
	if err != nil {
		return machine{}, false
	}
	inode, prefixed := strings.CutPrefix(link, "pid:[")
	inode, suffixed := strings.CutSuffix(inode, "]")
	if !prefixed || !suffixed {
		return machine{}, false
	}
	if m.pidNamespace, err = strconv.ParseUint(inode, 10, 64); err != nil {
		return machine{}, false
	}
	if m.host, err = os.Hostname(); err != nil || m.host == "" || m.boot == "" {
		return machine{}, false
	}
	return m, true
}

// thisProcess returns this process's machine and start time.
func thisProcess() (machine, uint64, bool) {
	m, ok := thisMachine()
	if !ok {
		return machine{}, 0, false
	}
	st, err := readStat(os.Getpid())
	if err != nil {
		return machine{}, 0, false
	}
	return m, st.start, true
}

// gone reports whether the process of this machine that had pid and
// started at start no longer runs.
func gone(pid int, start uint64) bool {
	// kill(pid, 0) sees every process of the namespace, also those /proc
	// hides from other users (hidepid): ESRCH proves there is none.
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	st, err := readStat(pid)
	if err != nil {
		return false // hidden, or gone just now: the next try sees
	}
	if st.start != start {
		return true // the PID is another process's now
	}
	// A zombie, killed but not yet waited for by its parent, runs no
	// more; but a leader thread that ended before the process's other
	// threads shows as a zombie too, so only one whose threads are all
	// gone counts.
	return st.state == 'Z' && st.threads == 1
}

// stat is what gone reads of /proc/PID/stat.
type stat struct {
	state   byte
	threads int64
	start   uint64
}

// readStat reads /proc/pid/stat (proc_pid_stat(5)).
func readStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	// The command name, field 2, is in parentheses and may hold spaces
	// and parentheses itself: the fields after it follow the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 {
		return stat{}, fmt.Errorf("/proc/%d/stat: %d fields after the command name", pid, len(fields))
	}
	// fields[0] is field 3 (state), fields[17] field 20 (num_threads),
	// fields[19] field 22 (starttime).
	var st stat
	if len(fields[0]) != 1 {
		return stat{}, fmt.Errorf("/proc/%d/stat: state %q", pid, fields[0])
	}
	st.state = fields[0][0]
	if st.threads, err = strconv.ParseInt(fields[17], 10, 64); err != nil {
		return stat{}, fmt.Errorf("/proc/%d/stat: threads: %w", pid, err)
	}
	if st.start, err = strconv.ParseUint(fields[19], 10, 64); err != nil {
		return stat{}, fmt.Errorf("/proc/%d/stat: start time: %w", pid, err)
	}
	return st, nil
}
