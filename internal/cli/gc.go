package cli

// The collector's setting of a process that runs a pipeline.

import (
	"os"
	"runtime/debug"
	"sync"
)

// pipelineGCPercent is the collector's goal in a process that runs a
// pipeline, in place of Go's 100. Every event is a few KiB of fields and
// text that lives for one batch, while what lives long is small (the
// deduplicator's tables are off the heap), so at 100 the collector runs
// every few ten thousand events and marks the same live heap each time:
// a fifth of the CPU an event costs. At 200 it runs half as often; the
// heap may grow to three times what is live instead of twice (bench
// ingest --no-store: peak RSS 243–356 MB at 1M events instead of
// 228–271). It is the process's choice, made by the commands that run a
// pipeline (serve, ingest, bench), not the pipeline package's.
const pipelineGCPercent = 200

var collectOnce sync.Once

// collectLessOften sets pipelineGCPercent once per process, unless GOGC
// says otherwise: an operator's own setting wins.
func collectLessOften() {
	collectOnce.Do(func() {
		if _, set := os.LookupEnv("GOGC"); !set {
			debug.SetGCPercent(pipelineGCPercent)
		}
	})
}
