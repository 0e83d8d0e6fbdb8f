package cli

import (
	"os"
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
	last := strings.Join(lines[len(lines)-7:], "\n")
	for _, want := range []string{"organisations: 5\n", "events: 200 stored, 200 handled", "messages: 5\n", "reading the queue at once: ", "elapsed: ", "CPU time of the pass: "} {
		if !strings.Contains(last, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestBenchNotifyPostgres runs the same on PostgreSQL (VIGIL_TEST_POSTGRES,
// as the store's tests; VIGIL_SKIP_POSTGRES=1 skips it on purpose).
func TestBenchNotifyPostgres(t *testing.T) {
	dsn := os.Getenv("VIGIL_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("VIGIL_SKIP_POSTGRES") == "1" {
			t.Skip("VIGIL_SKIP_POSTGRES=1")
		}
		t.Fatal("VIGIL_TEST_POSTGRES is not set (see internal/store/pgstore)")
	}
	code, out, errOut := run(t, "", "bench", "notify", "--postgres", dsn, "--orgs", "70", "--prefixes", "140", "--events", "700")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"PostgreSQL schema vigil_bench_", "organisations: 70\n", "events: 700 stored, 700 handled", "messages: 70\n", "elapsed: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
