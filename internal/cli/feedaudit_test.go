package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
)

// TestFeedCommandsAuditedOnce: `vigil feeds pause|resume|run NAME` each
// write exactly one audit entry, the feed manager's, by "cli".
func TestFeedCommandsAuditedOnce(t *testing.T) {
	data := t.TempDir()
	for _, word := range []string{"pause", "resume", "run"} {
		if code, out, errOut := run(t, "", "feeds", word, "inbox", "--data", data); code != 0 {
			t.Fatalf("%s: %d %s %s", word, code, out, errOut)
		}
	}
	a, err := openApp(t.Context(), func() config.Config { c := config.Default(); c.Data = data; return c }(), io.Discard, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	entries, err := a.store.ListAudit(t.Context(), auth.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Action, "feed.") {
			continue
		}
		if e.Actor != "cli" || e.Target != "inbox" || e.UserID != 0 {
			t.Errorf("entry %+v", e)
		}
		got = append(got, e.Action)
	}
	// Newest first.
	if want := "feed.run feed.resume feed.pause"; strings.Join(got, " ") != want {
		t.Errorf("audited %q, want %s", got, want)
	}
}
