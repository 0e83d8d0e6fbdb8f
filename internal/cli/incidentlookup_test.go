package cli

import (
	"strings"
	"testing"
)

// TestIncidentShowLookup: `vigil incident show` prints each observable
// with its owners in the constituency and its events.
func TestIncidentShowLookup(t *testing.T) {
	data := t.TempDir()
	file := writeTemp(t, "organisations.csv", constituencyCSV)
	if code, out, errOut := run(t, "", "constituency", "import", file, "--data", data); code != 0 {
		t.Fatalf("import: %d %s %s", code, out, errOut)
	}
	text := "phishing on https://login.kuleuven.be/x from 192.0.2.200, call +32 2 555 12 34"
	run(t, "", "incident", "report", "--kind", "phishing", "--text", text, "--data", data)
	code, out, errOut := run(t, "", "incident", "report", "--kind", "phishing", "--text", text, "--data", data)
	if code != 0 || !strings.Contains(out, "grouped onto incident ") {
		t.Fatalf("report: %d %s %s", code, out, errOut)
	}
	tag := strings.Fields(out[strings.Index(out, "grouped onto incident ")+len("grouped onto incident "):])[0]
	code, out, errOut = run(t, "", "incident", "show", tag, "--data", data)
	if code != 0 {
		t.Fatalf("show: %d %s %s", code, out, errOut)
	}
	for _, want := range []string{
		"url  https://login.kuleuven.be/x  Owner: kuleuven (kuleuven.be)  0 events",
		"ip  192.0.2.200  Owner: chu-liege (192.0.2.128/25), uliege (192.0.2.0/24)  0 events",
		"phone  +3225551234  (not looked up)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
}
