package lease

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// A machine is where a process runs, as far as its PIDs mean one
// process: one kernel boot, one PID namespace, under one host name.
type machine struct {
	host         string
	boot         string // /proc/sys/kernel/random/boot_id
	pidNamespace uint64 // the inode of /proc/self/ns/pid
}

// A process is what a holder's name says of the process that holds a
// lease: its machine, its PID and its start time name one process of
// that machine for ever, even once the PID is reused. The random part
// makes a restarted process a new holder whatever its PID.
type process struct {
	machine
	pid    int
	start  uint64 // clock ticks after boot, field 22 of /proc/PID/stat
	random string
}

// Holder returns a name for this process, in the lease and in the logs:
//
//	host/pid/random boot=BOOT-ID pidns=INODE start=TICKS
//
// whose second part lets a process of the same machine see that this one
// is gone (deadHolder). Where the machine cannot be known (not Linux,
// /proc unreadable) it is host/pid/random alone, as before, and another
// process only ever takes the lease over once it expired.
func Holder() string {
	p := process{pid: os.Getpid()}
	var b [4]byte
	rand.Read(b[:])
	p.random = hex.EncodeToString(b[:])
	if m, start, ok := thisProcess(); ok {
		p.machine, p.start = m, start
	} else {
		p.host, _ = os.Hostname()
	}
	return p.String()
}

// String formats p as Holder says.
func (p process) String() string {
	name := fmt.Sprintf("%s/%d/%s", p.host, p.pid, p.random)
	if p.boot == "" {
		return name
	}
	return fmt.Sprintf("%s boot=%s pidns=%d start=%d", name, p.boot, p.pidNamespace, p.start)
}

// parseHolder reads back a holder name that names its process fully; it
// reports false for any other (the old host/pid/random, a name given in
// Options, a host name with a space or a slash), whose process is then
// never judged dead.
func parseHolder(s string) (process, bool) {
	fields := strings.Split(s, " ")
	if len(fields) != 4 {
		return process{}, false
	}
	name := strings.Split(fields[0], "/")
	if len(name) != 3 || name[0] == "" || name[2] == "" {
		return process{}, false
	}
	p := process{machine: machine{host: name[0]}, random: name[2]}
	var err error
	if p.pid, err = strconv.Atoi(name[1]); err != nil || p.pid <= 0 {
		return process{}, false
	}
	var ok bool
	if p.boot, ok = strings.CutPrefix(fields[1], "boot="); !ok || p.boot == "" {
		return process{}, false
	}
	ns, ok := strings.CutPrefix(fields[2], "pidns=")
	if !ok {
		return process{}, false
	}
	if p.pidNamespace, err = strconv.ParseUint(ns, 10, 64); err != nil {
		return process{}, false
	}
	start, ok := strings.CutPrefix(fields[3], "start=")
	if !ok {
		return process{}, false
	}
	if p.start, err = strconv.ParseUint(start, 10, 64); err != nil {
		return process{}, false
	}
	return p, true
}

// deadHolder reports whether holder is provably dead: a process of this
// machine that no longer runs. A holder of another machine, of another
// boot or PID namespace of this one, or whose name says too little, may
// be alive for all this process can see, and is not.
func deadHolder(holder string) (process, bool) {
	p, ok := parseHolder(holder)
	if !ok {
		return process{}, false
	}
	here, ok := thisMachine()
	if !ok || here != p.machine {
		return process{}, false
	}
	return p, gone(p.pid, p.start)
}
