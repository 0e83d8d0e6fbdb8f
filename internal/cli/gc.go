package cli

// The collector's settings of a process that runs a pipeline.

import (
	"math"
	"os"
	"runtime/debug"
	"sync"
)

// pipelineGCPercent is the collector's goal in a process that runs a
// pipeline, in place of Go's 100. Every event is a few KiB of fields and
// text that lives for one batch, while what lives long is small (the
// deduplicator's tables and the event store's hot partition are off the
// heap), so at 100 the collector runs every few ten thousand events and
// marks the same live heap each time: a fifth of the CPU an event costs.
// At 200 it runs half as often; the heap may grow to three times what is
// live instead of twice (bench ingest --no-store: peak RSS 243–356 MB at
// 1M events instead of 228–271). It is the process's choice, made by the
// commands that run a pipeline (serve, ingest, bench), not the pipeline
// package's.
const pipelineGCPercent = 200

// pipelineMemoryLimit is the soft limit of the Go runtime's memory in such
// a process (GOMEMLIMIT): below it the collector runs at
// pipelineGCPercent, near it more often, so that three times a large live
// heap, and the spans a collection freed but the runtime kept, do not
// become resident memory. A pipeline's live heap is its batches in flight,
// about 150 MB (bench ingest), and near the limit the collector runs
// more often than pipelineGCPercent would have it. Above the limit
// the runtime spends at most half the CPU collecting rather than fail, so
// a process whose live heap outgrows it slows down, and its operator sets
// GOMEMLIMIT higher (or off). 240 MiB rather than 256 since compression
// moved before the writer's lock (two batches' blocks in flight): bench
// ingest of 10 million events peaked at 476,708 KiB with it, 495,744 at
// 256 (quiet, one run each, 328 and 340 s of CPU).
const pipelineMemoryLimit = 240 << 20

var collectOnce sync.Once

// collectLessOften sets pipelineGCPercent and pipelineMemoryLimit once
// per process, unless GOGC or GOMEMLIMIT says otherwise: an operator's own
// setting wins.
func collectLessOften() {
	collectOnce.Do(func() {
		if _, set := os.LookupEnv("GOGC"); !set {
			debug.SetGCPercent(pipelineGCPercent)
		}
		if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
			debug.SetMemoryLimit(pipelineMemoryLimit)
		}
	})
}

// roomMu serialises the changes of makeRoom to the soft limit.
var roomMu sync.Mutex

// makeRoom raises the process's soft memory limit by bytes, for what a
// piece of work holds at once on purpose (the notifier's queue read at
// once: notify.Deps.Room), and returns what lowers it again by as much.
// Without it, a pass holding more than the pipeline's limit would leave
// the collector running without pause, up to half the CPU, for the
// whole pass. A process without a soft limit is left as it is.
func makeRoom(bytes int64) (release func()) {
	if bytes <= 0 {
		return func() {}
	}
	roomMu.Lock()
	defer roomMu.Unlock()
	limit := debug.SetMemoryLimit(-1)
	if limit == math.MaxInt64 || limit > math.MaxInt64-bytes {
		return func() {}
	}
	debug.SetMemoryLimit(limit + bytes)
	var once sync.Once
	return func() {
		once.Do(func() {
			roomMu.Lock()
			defer roomMu.Unlock()
			if now := debug.SetMemoryLimit(-1); now != math.MaxInt64 {
				debug.SetMemoryLimit(max(now-bytes, 0))
			}
		})
	}
}
