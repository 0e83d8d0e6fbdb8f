package cli

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestIncidentCommands works incidents from the shell on a new data
// directory: two calls about one phishing URL are logged and grouped into
// an incident, which is listed, shown, moved, assigned and noted; an
// incident is opened from a report of the queue and another by hand.
func TestIncidentCommands(t *testing.T) {
	data := t.TempDir()
	vigil := func(t *testing.T, want int, args ...string) (string, string) {
		t.Helper()
		code, out, errOut := run(t, "", append(args, "--data", data)...)
		if code != want {
			t.Fatalf("vigil %s: exit %d, want %d:\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out, errOut
	}
	if code, out, errOut := run(t, "a-long-enough-password\n", "user", "add", "ana", "--role", "analyst", "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("user add: %d %s %s", code, out, errOut)
	}
	out, _ := vigil(t, 0, "incident", "list")
	if !strings.Contains(out, "no incidents") {
		t.Errorf("an empty list: %q", out)
	}
	vigil(t, 0, "incident", "report", "--kind", "phishing", "--text", "got a mail linking to hxxps://bank-login[.]com/x", "--phone", "+32 2 000 00 00")
	out, _ = vigil(t, 0, "incident", "report", "--kind", "phishing", "--text", "also https://bank-login.com/x")
	m := regexp.MustCompile(`grouped onto incident (\d{4}-\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the second call was not grouped: %q", out)
	}
	tag := m[1]
	out, _ = vigil(t, 0, "incident", "report", "--kind", "other", "--text", "the network is slow", "--name", "Jo")
	if !regexp.MustCompile(`^report R-\d{4}-\d+ logged \(id 3\)\n$`).MatchString(out) {
		t.Errorf("a call with nothing to group by: %q", out)
	}

	t.Run("list and show", func(t *testing.T) {
		out, _ := vigil(t, 0, "incident", "list")
		if !regexp.MustCompile(`(?m)^TAG +STATUS +SEVERITY`).MatchString(out) || !strings.Contains(out, tag) || !strings.Contains(out, "1 shown of 1") {
			t.Errorf("list:\n%s", out)
		}
		out, _ = vigil(t, 0, "incident", "list", "--status", "closed")
		if !strings.Contains(out, "no incidents") {
			t.Errorf("closed ones: %q", out)
		}
		out, _ = vigil(t, 0, "incident", "list", "--json", "--overdue")
		if out != "" {
			t.Errorf("nothing is overdue yet: %q", out)
		}
		out, _ = vigil(t, 0, "incident", "list", "--json")
		var inc struct {
			Tag     string `json:"tag"`
			Reports int    `json:"reports"`
		}
		if err := json.Unmarshal([]byte(out), &inc); err != nil || inc.Tag != tag || inc.Reports != 2 {
			t.Errorf("list --json: %v %q", err, out)
		}
		out, _ = vigil(t, 0, "incident", "show", tag, "--json")
		var shown struct {
			Tag      string           `json:"tag"`
			Linked   []map[string]any `json:"linked_reports"`
			Timeline []map[string]any `json:"timeline"`
		}
		if err := json.Unmarshal([]byte(out), &shown); err != nil || shown.Tag != tag || len(shown.Linked) != 2 || len(shown.Timeline) == 0 ||
			strings.Contains(out, "Token") {
			t.Errorf("show --json: %v\n%s", err, out)
		}
		out, _ = vigil(t, 0, "incident", "show", tag)
		for _, want := range []string{"bank-login.com", "R-", "phone", "timeline:", "created"} {
			if !strings.Contains(out, want) {
				t.Errorf("show lacks %q:\n%s", want, out)
			}
		}
		out, _ = vigil(t, 0, "incident", "reports")
		if !strings.Contains(out, "the network is slow") || strings.Contains(out, "bank-login") || !strings.Contains(out, "1 shown of 1") {
			t.Errorf("the triage queue:\n%s", out)
		}
		out, _ = vigil(t, 0, "incident", "reports", "--state", "all", "--json")
		if n := strings.Count(out, "\n"); n != 3 || strings.Contains(out, "Token") || !strings.Contains(out, `"tracking":"R-`) {
			t.Errorf("all reports as JSON (%d lines):\n%s", n, out)
		}
	})
	t.Run("work on it", func(t *testing.T) {
		out, _ := vigil(t, 0, "incident", "status", tag, "in_progress")
		if out != "incident "+tag+" is now in_progress\n" {
			t.Errorf("status: %q", out)
		}
		_, errOut := vigil(t, 1, "incident", "status", tag, "closed")
		if !strings.Contains(errOut, "give a reason to move to closed") {
			t.Errorf("closing without a reason: %q", errOut)
		}
		vigil(t, 0, "incident", "status", tag, "waiting", "--reason", "asked the bank")
		out, _ = vigil(t, 0, "incident", "assign", tag, "ana")
		if !strings.Contains(out, "assigned to ana") {
			t.Errorf("assign: %q", out)
		}
		_, errOut = vigil(t, 1, "incident", "assign", tag, "nobody")
		if !strings.Contains(errOut, "nobody is not an enabled analyst") {
			t.Errorf("assign to an unknown account: %q", errOut)
		}
		vigil(t, 0, "incident", "note", tag, "the", "bank", "called", "back")
		out, _ = vigil(t, 0, "incident", "list", "--assignee", "ana")
		if !strings.Contains(out, tag) || !strings.Contains(out, "waiting") {
			t.Errorf("ana's incidents:\n%s", out)
		}
		out, _ = vigil(t, 0, "incident", "show", tag)
		if !strings.Contains(out, "the bank called back") || !strings.Contains(out, "asked the bank") || !strings.Contains(out, "ana") {
			t.Errorf("show after the work:\n%s", out)
		}
		_, errOut = vigil(t, 1, "incident", "show", "2026-9999")
		if !strings.Contains(errOut, "there is no incident 2026-9999") {
			t.Errorf("an unknown tag: %q", errOut)
		}
	})
	t.Run("open incidents", func(t *testing.T) {
		out, _ := vigil(t, 0, "incident", "new", "--report", "3")
		if !regexp.MustCompile(`^incident \d{4}-\d+ opened: Other: R-\d{4}-0+3\n$`).MatchString(out) {
			t.Errorf("new from a report: %q", out)
		}
		out, _ = vigil(t, 0, "incident", "new", "--title", "Defaced site", "--kind", "fake_website", "--severity", "high")
		if !strings.Contains(out, "opened: Defaced site") {
			t.Errorf("new by hand: %q", out)
		}
		_, errOut := vigil(t, 1, "incident", "new", "--report", "1")
		if !strings.Contains(errOut, "linked to another incident") {
			t.Errorf("a linked report: %q", errOut)
		}
		_, errOut = vigil(t, 1, "incident", "new", "--report", "99")
		if !strings.Contains(errOut, "there is no report 99") {
			t.Errorf("a missing report: %q", errOut)
		}
		vigil(t, 0, "incident", "report", "--kind", "malware", "--text", "my laptop shows a ransom note", "--channel", "email")
		vigil(t, 0, "incident", "report", "--kind", "malware", "--text", "the office PCs are encrypted")
		out, _ = vigil(t, 0, "incident", "new", "--report", "4", "5", "--title", "Ransomware")
		if !strings.Contains(out, "opened: Ransomware") {
			t.Errorf("new from two reports: %q", out)
		}
		out, _ = vigil(t, 0, "incident", "list", "--json", "--status", "new")
		if !strings.Contains(out, `"title":"Ransomware"`) || !strings.Contains(out, `"reports":2`) {
			t.Errorf("the incident of two reports:\n%s", out)
		}
		out, _ = vigil(t, 0, "incident", "reports")
		if !strings.Contains(out, "no reports") {
			t.Errorf("the queue is empty: %q", out)
		}
	})
	t.Run("usage errors", func(t *testing.T) { checkIncidentUsage(t, data, tag) })
}

// checkIncidentUsage: unknown subcommands, words and values are refused
// with exit 2, a message and the usage.
func checkIncidentUsage(t *testing.T, data, tag string) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown subcommand "frobnicate"`},
		{[]string{"list", "extra"}, `list takes no arguments, got "extra"`},
		{[]string{"list", "--status", "open"}, "--status: want one of new, triage"},
		{[]string{"list", "--limit", "0"}, "--limit: want a number from 1 to 1000"},
		{[]string{"show"}, "show needs one incident tag"},
		{[]string{"show", "abc"}, `"abc" is not an incident tag`},
		{[]string{"status", tag}, "status needs an incident tag and a status"},
		{[]string{"status", tag, "done"}, `"done" is not a status`},
		{[]string{"assign", tag}, "assign needs an incident tag"},
		{[]string{"note", tag}, "note needs an incident tag and the text"},
		{[]string{"new"}, "new needs --report ID"},
		{[]string{"new", "--report", "x"}, `"x" is not a report id`},
		{[]string{"new", "--report", "1", "y"}, `"y" is not a report id`},
		{[]string{"new", "--title", "t", "5"}, `new takes no arguments, got "5"`},
		{[]string{"new", "--title", "t", "--kind", "spam"}, "--kind: want one of phishing"},
		{[]string{"reports", "--state", "open"}, "--state: want one of new, triaged"},
		{[]string{"report", "--kind", "phishing"}, "report needs --text"},
		{[]string{"report", "--kind", "spam", "--text", "t"}, "--kind: want one of phishing"},
		{[]string{"report", "--kind", "other", "--text", "t", "--channel", "fax"}, "--channel: want one of web, email, phone"},
		{[]string{"report", "--kind", "other", "--text", "t", "extra"}, `report takes no arguments, got "extra"`},
	} {
		code, _, errOut := run(t, "", append(append([]string{"incident"}, tt.args...), "--data", data)...)
		if code != 2 || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "Usage: vigil incident") {
			t.Errorf("incident %s: exit %d, want 2 and %q:\n%s", strings.Join(tt.args, " "), code, tt.want, errOut)
		}
	}
	// A report id that is none, given to the flag or after it, in the
	// operator's language.
	t.Setenv("VIGIL_LANG", "fr")
	for _, args := range [][]string{{"new", "--report", "x"}, {"new", "--report", "1", "x"}} {
		code, _, errOut := run(t, "", append(append([]string{"incident"}, args...), "--data", data)...)
		if want := `"x" n'est pas un numéro de signalement`; code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("incident %s in French: exit %d, want 2 and %q:\n%s", strings.Join(args, " "), code, want, errOut)
		}
	}
}
