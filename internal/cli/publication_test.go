package cli

import (
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// TestPublicationCommand writes a draft, refuses its author's approval
// (four eyes), has a publisher approve and publish it, lists, shows and
// withdraws it, and says its refusals in the reader's language.
func TestPublicationCommand(t *testing.T) {
	t.Setenv("VIGIL_LANG", "en")
	data := t.TempDir()
	for _, u := range [][2]string{{"ana", "analyst"}, {"pia", "publisher"}} {
		if code, _, errOut := run(t, "a-long-enough-password\n", "user", "add", u[0], "--role", u[1], "--password-stdin", "--data", data); code != 0 {
			t.Fatalf("user add %s: %s", u[0], errOut)
		}
	}
	step := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, "", append([]string{"publication"}, append(args, "--data", data)...)...)
		if code != want {
			t.Fatalf("publication %v: exit %d, want %d: %s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	out := step(0, "new", "--kind", "warning", "--title", "Exposed RDP services", "--tlp", "CLEAR", "--as", "ana")
	ident := strings.Fields(strings.TrimPrefix(out, "draft "))[0]
	if !strings.HasPrefix(ident, "VIGIL-") {
		t.Fatalf("new: %q", out)
	}
	step(0, "submit", ident, "--as", "ana")
	if out := step(1, "approve", ident, "--as", "ana"); !strings.Contains(out, "Four eyes") {
		t.Errorf("the author approved: %q", out)
	}
	step(2, "approve", ident)
	step(0, "approve", ident, "--as", "pia")
	if out := step(0, "publish", ident, "--as", "pia"); !strings.Contains(out, ident+" is now published") {
		t.Errorf("publish: %q", out)
	}
	if out := step(0, "list", "--status", "published"); !strings.Contains(out, ident) || !strings.Contains(out, "Exposed RDP services") {
		t.Errorf("list: %q", out)
	}
	if out := step(0, "show", ident); !strings.Contains(out, "website") || !strings.Contains(out, "[en] Exposed RDP services") ||
		!strings.Contains(out, `constituents  skipped  Not sent: this channel does not take publications of the kind "Warning".`) {
		t.Errorf("show: %q", out)
	}
	if out := step(0, "show", ident, "--json"); !strings.Contains(out, `"Ident": "`+ident+`"`) {
		t.Errorf("show --json: %q", out)
	}
	step(1, "withdraw", ident, "--reason", "")
	step(0, "withdraw", ident, "--reason", "posted by mistake")
	step(1, "show", "VIGIL-1999-0001")

	t.Setenv("VIGIL_LANG", "nl")
	cat := i18n.Embedded()
	if out := step(1, "show", "VIGIL-1999-0001"); !strings.Contains(out, cat.T("nl", "cli.publication.notfound", "VIGIL-1999-0001")) {
		t.Errorf("not found in Dutch: %q", out)
	}
	if out := step(2, "frobnicate"); !strings.Contains(out, cat.T("nl", "cli.publication.unknown", "frobnicate")) {
		t.Errorf("unknown subcommand in Dutch: %q", out)
	}
}

// cveRecord is a CVE JSON 5 record written for the tests.
const cveRecord = `{"dataType":"CVE_RECORD","dataVersion":"5.1",
 "cveMetadata":{"cveId":"CVE-2026-7777","assignerOrgId":"00000000-0000-4000-8000-000000000001","state":"PUBLISHED"},
 "containers":{"cna":{"providerMetadata":{"orgId":"00000000-0000-4000-8000-000000000001"},
  "title":"Heap overflow in Example Router",
  "descriptions":[{"lang":"en","value":"A heap overflow in Example Router before 2.1 lets a remote attacker run code."}],
  "affected":[{"vendor":"example","product":"router","versions":[{"version":"0","lessThan":"2.1","status":"affected","versionType":"semver"}]}],
  "references":[{"url":"https://example.org/sa-1"}],
  "metrics":[{"cvssV3_1":{"version":"3.1","vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","baseScore":9.8,"baseSeverity":"CRITICAL"}}]}}}`

// TestPublicationImportCVE drafts an advisory from a CVE record file and
// refuses a malformed one with the field at fault.
func TestPublicationImportCVE(t *testing.T) {
	t.Setenv("VIGIL_LANG", "en")
	data := t.TempDir()
	good := writeTemp(t, "CVE-2026-7777.json", cveRecord)
	code, out, errOut := run(t, "", "publication", "import-cve", good, "--data", data)
	if code != 0 || !strings.Contains(out, "Heap overflow in Example Router") {
		t.Fatalf("import-cve: exit %d: %s%s", code, out, errOut)
	}
	ident := strings.Fields(strings.TrimPrefix(out, "draft "))[0]
	_, out, _ = run(t, "", "publication", "show", ident, "--json", "--data", data)
	for _, want := range []string{`"CVE-2026-7777"`, `"Score": 9.8`, `"Vendor": "example"`, `"Source": "cve:CVE-2026-7777"`, `"Severity": "critical"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the draft lacks %s: %s", want, out)
		}
	}
	bad := writeTemp(t, "bad.json", strings.Replace(cveRecord, `"cveId":"CVE-2026-7777"`, `"cveId":"CVE-77"`, 1))
	code, _, errOut = run(t, "", "publication", "import-cve", bad, "--data", data)
	if code != 1 || !strings.Contains(errOut, "bad.json is refused") || !strings.Contains(errOut, "CVE-77") {
		t.Errorf("a malformed record: exit %d: %s", code, errOut)
	}
}
