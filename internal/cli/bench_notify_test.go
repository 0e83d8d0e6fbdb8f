package cli

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
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
	// The password goes in PGPASSWORD, as the warning about one in the
	// URL tells (it would show in ps): the bench's connections find it.
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if pw, ok := u.User.Password(); ok {
		t.Setenv("PGPASSWORD", pw)
		u.User = url.User(u.User.Username())
	}
	code, out, errOut := run(t, "", "bench", "notify", "--postgres", u.String(), "--orgs", "70", "--prefixes", "140", "--events", "700")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(errOut, "PGPASSWORD") {
		t.Errorf("warned about a URL without a password:\n%s", errOut)
	}
	for _, want := range []string{"PostgreSQL schema vigil_bench_", "organisations: 70\n", "events: 700 stored, 700 handled", "messages: 70\n", "elapsed: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestBenchNotifyLayout runs bench notify on each layout with --reuse:
// the store is kept under the layout's name and is of that layout, the
// second run reuses it; another layout is refused.
func TestBenchNotifyLayout(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ layout, file string }{
		{"rows", "notify-rows-loaded.db"},
		{"parts", "notify-loaded.db"},
	} {
		for run1 := range 2 {
			code, out, errOut := run(t, "", "bench", "notify", "--dir", dir, "--reuse", "--layout", tt.layout, "--orgs", "4", "--prefixes", "12", "--events", "120", "--synchronous", "NORMAL")
			if code != 0 {
				t.Fatalf("%s: exit %d\n%s\n%s", tt.layout, code, out, errOut)
			}
			if !strings.Contains(out, "events: 120 stored, 120 handled") {
				t.Errorf("%s: output lacks the events handled:\n%s", tt.layout, out)
			}
			if copied := strings.Contains(out, tt.file); copied != (run1 == 1) {
				t.Errorf("%s, run %d: copied from %s: %v\n%s", tt.layout, run1+1, tt.file, copied, out)
			}
		}
		s, err := sqlitestore.Open(t.Context(), filepath.Join(dir, tt.file), sqlitestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Migrate(t.Context())
		got := s.EventLayout()
		s.Close()
		if err != nil || got != tt.layout {
			t.Errorf("%s holds the %q layout (%v), want %s", tt.file, got, err, tt.layout)
		}
	}
	if code, out, errOut := run(t, "", "bench", "notify", "--dir", dir, "--layout", "columns", "--orgs", "4", "--prefixes", "12", "--events", "120"); code == 0 || !strings.Contains(errOut, "columns") {
		t.Errorf("--layout columns: exit %d\n%s\n%s", code, out, errOut)
	}
}
