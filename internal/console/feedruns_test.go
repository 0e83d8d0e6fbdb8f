package console

import (
	"testing"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
)

func TestShortInputName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"2026-11-20-scan_rdp.csv", "2026-11-20-scan_rdp.csv"},
		{"/var/lib/vigil/inbox/feodo/ipblocklist.csv", "ipblocklist.csv"},
		{`C:\inbox\list.csv`, "list.csv"},
		{"https://feodotracker.abuse.ch/downloads/ipblocklist.csv?key=s3cret", "feodotracker.abuse.ch/…/ipblocklist.csv"},
		{"https://example.org/list.csv", "example.org/list.csv"},
		{"https://example.org/", "example.org"},
		{"2026-11-20-scan_rdp-belgium-geo-with-a-very-long-report-name.csv", "2026-11-20-scan_rdp…long-report-name.csv"},
		{"dir/", "dir/"},
	} {
		got := shortInputName(tc.name)
		if got != tc.want {
			t.Errorf("shortInputName(%q) = %q, want %q", tc.name, got, tc.want)
		}
		if utf8.RuneCountInString(got) > shortNameLength {
			t.Errorf("shortInputName(%q) is %d characters", tc.name, utf8.RuneCountInString(got))
		}
	}
	runs := feedRuns([]feedadmin.Run{{Inputs: 25, InputNames: []string{"a/b.csv", "c.csv"}}, {Inputs: 0}}, i18n.Embedded(), "en")
	if r := runs[0]; len(r.Names) != 2 || r.Names[0] != (inputName{Short: "b.csv", Full: "a/b.csv"}) || r.More != 23 {
		t.Errorf("feedRuns = %+v", r)
	}
	if runs[1].More != 0 || runs[1].Names != nil {
		t.Errorf("a run without inputs: %+v", runs[1])
	}
}
