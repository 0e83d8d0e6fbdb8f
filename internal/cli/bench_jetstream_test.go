package cli

import (
	"context"
	"io"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestBenchIngestJetStream runs `vigil bench ingest --transport jetstream`:
// the batches cross the embedded JetStream, and the bench waits until the
// workers stored every event (counted by the store output) and reports
// them all, as counted in the store.
func TestBenchIngestJetStream(t *testing.T) {
	t.Setenv("VIGIL_LANG", "en")
	code, out, errOut := run(t, "", "bench", "ingest", "--dir", t.TempDir(), "--rows", "4500", "--transport", "jetstream")
	if code != 0 {
		t.Fatalf("bench ingest: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "pipeline (jetstream): 4500 events stored in ") {
		t.Errorf("not every event reported stored:\n%s", out)
	}
}

// TestBenchIngestJetStreamRoom: bench ingest through the embedded server
// runs, as vigil serve does, under the pipeline's soft memory limit
// raised by the room the bus asks for its block buffers
// (bus.Bus.HeapRoom), and gives it back when done; through the channel
// it runs under the pipeline's limit alone.
func TestBenchIngestJetStreamRoom(t *testing.T) {
	collectLessOften() // once a process: it must not set the limit below later
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	const base = pipelineMemoryLimit
	debug.SetMemoryLimit(base)
	c := &cmdEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, lang: "en"}
	for _, transport := range []string{"local", "jetstream"} {
		t.Run(transport, func(t *testing.T) {
			work := t.TempDir()
			_, tables, geo, err := benchInput(c, work, 10)
			if err != nil {
				t.Fatal(err)
			}
			b, err := newIngestBench(context.Background(), c, work, tables, geo, transport, "FULL", sqlitestore.LayoutParts, "", true, true)
			if err != nil {
				t.Fatal(err)
			}
			limit := debug.SetMemoryLimit(-1)
			b.close()
			if transport == "jetstream" && limit <= base {
				t.Errorf("soft limit %d while the embedded server runs, want more than the pipeline's %d", limit, base)
			}
			if transport == "local" && limit != base {
				t.Errorf("soft limit %d through the channel, want the pipeline's %d", limit, base)
			}
			if after := debug.SetMemoryLimit(-1); after != base {
				t.Errorf("soft limit %d after the bench, want %d back", after, base)
			}
		})
	}
}

// TestBenchIngestRefusesAUsedDir: a second bench ingest in the directory
// of a first finds its events stored already; it is refused at once with
// the reason, not left waiting for events that will not be stored again.
func TestBenchIngestRefusesAUsedDir(t *testing.T) {
	t.Setenv("VIGIL_LANG", "en")
	work := t.TempDir()
	if code, out, errOut := run(t, "", "bench", "ingest", "--dir", work, "--rows", "300"); code != 0 {
		t.Fatalf("first bench ingest: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := run(t, "", "bench", "ingest", "--dir", work, "--rows", "300")
	if code == 0 || !strings.Contains(errOut, "holds an earlier bench run") {
		t.Fatalf("second bench ingest in the same directory: exit %d, want a refusal\n%s\n%s", code, out, errOut)
	}
}
