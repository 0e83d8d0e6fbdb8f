package cli

// bench --memprofile: where a benchmark's peak of resident memory goes.
// The peak is not at the end of a run (bench ingest's is while a full
// partition is sealed beside the next one filling, say), so the process's
// resident set is sampled while the command runs, and at each new high the
// runtime's own account of its memory and a heap profile are taken.

import (
	"bytes"
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// memorySampleEvery is how often the resident set is read: often enough
// to catch a peak that lasts as long as a sealing, rarely enough to cost
// nothing measurable.
const memorySampleEvery = 50 * time.Millisecond

// memoryProfileStep is the least the resident set must grow past the last
// profiled high, and a tenth of that high above 10 MiB, before a new heap
// profile is taken: writing one takes milliseconds of CPU and memory of
// its own, which a run that climbs slowly would otherwise pay every
// sample, and the heap it shows is the last collection's anyway.
const memoryProfileStep = 1 << 20

// memoryAccount is the runtime's account of its memory, and the resident
// set, at one moment.
type memoryAccount struct {
	rss       uint64 // resident set of the process
	objects   uint64 // heap memory holding objects, live or not yet collected
	unused    uint64 // heap spans in use, not holding objects
	free      uint64 // heap spans free, not returned to the system
	stacks    uint64 // goroutine and system stacks
	other     uint64 // the runtime's own: metadata, profiling, buffers
	released  uint64 // heap returned to the system
	heapGoal  uint64 // where the next collection starts
	goMapped  uint64 // all the runtime has mapped, less what it released
	sampledAt time.Time
}

// outside is what is resident but not the runtime's: memory C code
// allocates (SQLite's page caches with modernc.org/sqlite, whose libc has
// an allocator of its own), and the binary's own pages.
func (a memoryAccount) outside() uint64 {
	if a.rss < a.goMapped {
		return 0
	}
	return a.rss - a.goMapped
}

var memoryMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/os-stacks:bytes",
	"/memory/classes/total:bytes",
	"/gc/heap/goal:bytes",
}

// readMemory takes the account now.
func readMemory(samples []metrics.Sample) memoryAccount {
	metrics.Read(samples)
	v := func(i int) uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return samples[i].Value.Uint64()
	}
	a := memoryAccount{objects: v(0), unused: v(1), free: v(2), released: v(3),
		stacks: v(4) + v(5), heapGoal: v(7), rss: residentBytes(), sampledAt: time.Now()}
	total := v(6)
	a.goMapped = total - a.released
	a.other = total - a.objects - a.unused - a.free - a.released - a.stacks
	return a
}

// residentBytes is the process's resident set now (Linux; 0 elsewhere).
func residentBytes() uint64 { return procStatusKiB("VmRSS") << 10 }

// memoryWatch samples the resident set until stopped, and keeps the
// account and a heap profile at its highest.
type memoryWatch struct {
	stop chan struct{}
	done chan struct{} // closed when run returned: peak and profile are finished

	peak    memoryAccount
	profile []byte // at the last high that grew by memoryProfileStep
}

func watchMemory() *memoryWatch {
	w := &memoryWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *memoryWatch) run() {
	defer close(w.done)
	samples := make([]metrics.Sample, len(memoryMetrics))
	for i, name := range memoryMetrics {
		samples[i].Name = name
	}
	tick := time.NewTicker(memorySampleEvery)
	defer tick.Stop()
	var profiled uint64
	for {
		a := readMemory(samples)
		if a.rss > w.peak.rss {
			w.peak = a
		}
		if a.rss >= profiled+max(memoryProfileStep, profiled/10) {
			var buf bytes.Buffer
			if err := pprof.Lookup("heap").WriteTo(&buf, 0); err == nil {
				profiled = a.rss
				w.profile = buf.Bytes()
			}
		}
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
	}
}

// finish stops the sampling, writes the heap profile of the peak to path
// and returns the account at the peak.
func (w *memoryWatch) finish(path string) (memoryAccount, error) {
	close(w.stop)
	<-w.done
	if err := os.WriteFile(path, w.profile, 0o640); err != nil {
		return w.peak, fmt.Errorf("write the heap profile: %w", err)
	}
	return w.peak, nil
}

// printPeakMemory prints the account at the peak, in MiB.
func printPeakMemory(c *cmdEnv, a memoryAccount) {
	mb := func(n uint64) float64 { return float64(n) / (1 << 20) }
	fmt.Fprintln(c.stdout, c.t("bench.memory.peak", mb(a.rss), mb(a.objects), mb(a.unused+a.free), mb(a.heapGoal),
		mb(a.stacks), mb(a.other), mb(a.outside())))
}
