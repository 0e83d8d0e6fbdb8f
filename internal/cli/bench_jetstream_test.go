package cli

import (
	"strings"
	"testing"
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
