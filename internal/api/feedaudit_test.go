package api

import (
	"net/http"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
)

// TestFeedChangesAuditedOnce: each change of a feed made through the API
// writes exactly one audit entry, the feed manager's, with the same
// details as the console's and the token it came through.
func TestFeedChangesAuditedOnce(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ada, err := f.store.GetUserByName(t.Context(), "ada")
	if err != nil {
		t.Fatal(err)
	}
	seen := int64(0)
	newAudit := func() []auth.AuditEntry {
		entries, err := f.store.ListAudit(t.Context(), auth.AuditQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var out []auth.AuditEntry
		for _, e := range entries {
			if e.ID > seen {
				out = append(out, e)
			}
		}
		for _, e := range out {
			seen = max(seen, e.ID)
		}
		return out
	}
	newAudit()
	const def = `{"name":"blocklist","collector":"http","collector_options":{"url":"https://127.0.0.1/x.csv","interval":"30m"},"parser":"csv","parser_options":{"columns":{"0":"source.ip"}}`
	for _, step := range []struct {
		method, path, body     string
		status                 int
		action, target, detail string
	}{
		{"POST", "/feeds", def + `}`, http.StatusCreated, "feed.add", "blocklist", "http / csv"},
		{"PUT", "/feeds/blocklist", def + `,"tlp":"amber"}`, http.StatusOK, "feed.change", "blocklist", "http / csv"},
		{"POST", "/feeds/blocklist/pause", "", http.StatusOK, "feed.pause", "blocklist", ""},
		{"POST", "/feeds/blocklist/resume", "", http.StatusOK, "feed.resume", "blocklist", ""},
		{"POST", "/feeds/blocklist/run", "", http.StatusOK, "feed.run", "blocklist", ""},
		{"DELETE", "/feeds/blocklist/override", "", http.StatusNoContent, "feed.drop-override", "blocklist", "added"},
	} {
		var r response
		if step.body != "" {
			r = f.sendJSON(step.method, step.path, "ada", step.body)
		} else {
			r = f.do(step.method, step.path, "ada", nil)
		}
		if r.status != step.status {
			t.Fatalf("%s %s: %d %s", step.method, step.path, r.status, r.body)
		}
		got := newAudit()
		if len(got) != 1 {
			t.Fatalf("%s %s: %d audit entries, want 1: %+v", step.method, step.path, len(got), got)
		}
		via := "API token "
		want := step.detail
		if want == "" {
			want = via
		} else {
			want += " (" + via
		}
		if e := got[0]; e.Action != step.action || e.Target != step.target || e.UserID != ada.ID || e.Actor != "ada" ||
			len(e.Detail) < len(want) || e.Detail[:len(want)] != want {
			t.Errorf("%s %s audited %+v, want %s %s %q… by ada", step.method, step.path, e, step.action, step.target, want)
		}
	}
}
