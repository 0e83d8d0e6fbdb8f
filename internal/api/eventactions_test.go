package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
)

// eventActionCalls are the calls of the event actions for
// TestOpenAPIMatchesRoutes's "every documented operation is served".
// The fixture's notifier is switched off (notify.enabled false), so
// notifying now answers 409.
func (f *fixture) eventActionCalls() map[string]struct {
	path, body string
	status     int
} {
	body := `{"events":["` + f.hashes["rdp"] + `"],"reason":"a test"}`
	return map[string]struct {
		path, body string
		status     int
	}{
		"POST /events/notify":           {body: body, status: http.StatusConflict},
		"POST /events/false-positive":   {body: body},
		"DELETE /events/false-positive": {body: body},
	}
}

func (f *fixture) auditHas(action string) bool {
	f.t.Helper()
	entries, err := f.store.ListAudit(f.t.Context(), auth.AuditQuery{Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range entries {
		if e.Action == action {
			return true
		}
	}
	return false
}

func TestFalsePositivesAPI(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	rdp := f.hashes["rdp"]
	mark := `{"events":["` + rdp + `","` + strings.ToUpper(rdp) + `"],"reason":"a scanner of ours"}`

	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct{ body, want string }{
			{`{"events":["` + rdp + `"],"reason":"  "}`, "Give the reason"},
			{`{"events":["` + rdp + `"]}`, "Give the reason"},
			{`{"events":[],"reason":"x"}`, "at least one event"},
			{`{"events":["zz"],"reason":"x"}`, "not known"},
			{`{"events":["` + strings.Repeat("0", 64) + `"],"reason":"x"}`, "not known"},
			{`{"events":["` + rdp + `"],"reason":"` + strings.Repeat("x", 501) + `"}`, "too long"},
		} {
			r := f.sendJSON("POST", "/events/false-positive", "ana", tt.body)
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), tt.want) {
				t.Errorf("%.80s: %d %s", tt.body, r.status, r.body)
			}
		}
	})
	t.Run("a publisher may not", func(t *testing.T) {
		for _, m := range []string{"POST", "DELETE"} {
			if r := f.sendJSON(m, "/events/false-positive", "pub", mark); r.status != http.StatusForbidden {
				t.Errorf("%s: %d", m, r.status)
			}
		}
		if r := f.sendJSON("POST", "/events/notify", "pub", mark); r.status != http.StatusForbidden {
			t.Errorf("notify: %d", r.status)
		}
		if r := f.do("GET", "/false-positives", "pub", nil); r.status != http.StatusForbidden {
			t.Errorf("list: %d", r.status)
		}
	})

	r := f.sendJSON("POST", "/events/false-positive", "ana", mark)
	var out falsePositiveListJSON
	if r.status != http.StatusOK || json.Unmarshal(r.body, &out) != nil || len(out.FalsePositives) != 1 ||
		out.FalsePositives[0].Event != rdp || out.FalsePositives[0].By != "ana" || out.FalsePositives[0].Reason != "a scanner of ours" {
		t.Fatalf("mark: %d %s", r.status, r.body)
	}
	if !f.auditHas("event.falsepositive.mark") {
		t.Error("the mark is not audited")
	}
	r = f.do("GET", "/false-positives", "ana", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "a scanner of ours") {
		t.Errorf("list: %d %s", r.status, r.body)
	}
	r = f.sendJSON("DELETE", "/events/false-positive", "ana", `{"events":["`+rdp+`"]}`)
	if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"removed":1}` {
		t.Errorf("unmark: %d %s", r.status, r.body)
	}
	if !f.auditHas("event.falsepositive.remove") {
		t.Error("the removal is not audited")
	}
	// With notifications switched off nothing is sent: 409, and nothing
	// audited.
	r = f.sendJSON("POST", "/events/notify", "ana", `{"events":["`+rdp+`"]}`)
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "notifications_disabled") || f.auditHas("event.notify") {
		t.Errorf("notify without a key: %d %s", r.status, r.body)
	}
}
