package console

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
)

// newAudit returns the audit entries written since the last call.
func (e *testEnv) newAudit(seen *int64) []auth.AuditEntry {
	e.t.Helper()
	entries, err := e.store.ListAudit(context.Background(), auth.AuditQuery{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []auth.AuditEntry
	for _, a := range entries {
		if a.ID > *seen {
			out = append(out, a)
		}
	}
	for _, a := range out {
		*seen = max(*seen, a.ID)
	}
	return out
}

// TestFeedChangesAuditedOnce: each change of a feed made in the console
// writes exactly one audit entry, the feed manager's, with the admin's
// account and the change's details.
func TestFeedChangesAuditedOnce(t *testing.T) {
	env := newFeedEnv(t)
	b := env.browser()
	b.login("admin", "the admin's passphrase")
	admin := env.user("admin")
	var seen int64
	env.newAudit(&seen) // the sign-in
	for _, step := range []struct {
		path                   string
		form                   url.Values
		action, target, detail string
	}{
		{"/feeds/new", postedFeed("blocklist", nil), "feed.add", "blocklist", "http / csv"},
		{"/feeds/blocklist/edit", postedFeed("blocklist", func(f url.Values) { f.Set("tlp", "AMBER") }), "feed.change", "blocklist", "http / csv"},
		{"/feeds/blocklist/pause", url.Values{}, "feed.pause", "blocklist", ""},
		{"/feeds/blocklist/resume", url.Values{}, "feed.resume", "blocklist", ""},
		{"/feeds/blocklist/run", url.Values{}, "feed.run", "blocklist", ""},
		{"/feeds/blocklist/drop", url.Values{}, "feed.drop-override", "blocklist", "added"},
	} {
		b.get("/feeds")
		if r := b.post(step.path, step.form); r.status != http.StatusSeeOther {
			t.Fatalf("POST %s: %d %.300s", step.path, r.status, text(r.body))
		}
		got := env.newAudit(&seen)
		if len(got) != 1 {
			t.Fatalf("POST %s: %d audit entries, want 1: %+v", step.path, len(got), got)
		}
		if e := got[0]; e.Action != step.action || e.Target != step.target || e.Detail != step.detail || e.UserID != admin.ID || e.Actor != "admin" {
			t.Errorf("POST %s audited %+v, want %s %s %q by admin", step.path, e, step.action, step.target, step.detail)
		}
	}
}
