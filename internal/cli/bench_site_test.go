package cli

import (
	"strings"
	"testing"
)

// TestBenchSite runs `vigil bench site` briefly: the publications go
// through the workflow, every request is answered 200, and the figures
// are printed.
func TestBenchSite(t *testing.T) {
	code, out, errOut := run(t, "", "bench", "site", "--rate", "100", "--duration", "1s", "--clients", "4", "--publications", "8", "--dir", t.TempDir())
	if code != 0 {
		t.Fatalf("bench site: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"Site benchmark: 8 publications", "/en/p/VIGIL-", "100 requests sent, 100 answered 200", "latency: p50 "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := run(t, "", "bench", "site", "--rate", "0", "--dir", t.TempDir()); code != 2 || !strings.Contains(errOut, "--rate, --clients and --duration must be positive") {
		t.Errorf("bench site --rate 0: exit %d\n%s", code, errOut)
	}
}
