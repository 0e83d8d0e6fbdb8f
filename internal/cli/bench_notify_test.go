package cli

import (
	"strings"
	"testing"
)

// TestBenchNotify runs `vigil bench notify` on a tiny constituency: every
// event handled, one message per organisation, the figures as the last
// lines.
func TestBenchNotify(t *testing.T) {
	code, out, errOut := run(t, "", "bench", "notify", "--dir", t.TempDir(), "--orgs", "5", "--prefixes", "20", "--events", "200", "--synchronous", "NORMAL")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := strings.Join(lines[len(lines)-6:], "\n")
	for _, want := range []string{"organisations: 5\n", "events: 200 stored, 200 handled", "messages: 5\n", "reading the queue at once: ", "elapsed: "} {
		if !strings.Contains(last, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
