package cli

// The collector's settings of a process that runs a pipeline.

import (
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
