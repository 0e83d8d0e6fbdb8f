package cli

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// TestFeedsSayWhyAnInputFailed: an input that `vigil ingest` could not
// read (a gzip file cut short) or whose report type Vigil does not know
// leaves the feed a last error that `vigil feeds` says in the reader's
// language, the library's reason quoted as it came.
func TestFeedsSayWhyAnInputFailed(t *testing.T) {
	dir := t.TempDir()
	var report bytes.Buffer
	zw := gzip.NewWriter(&report)
	zw.Write([]byte("timestamp,ip,port\n" + strings.Repeat("2026-11-20 00:00:00,198.51.100.13,3389\n", 200)))
	zw.Close()
	cut := filepath.Join(dir, "2026-11-20-scan_rdp-belgium-geo.csv.gz")
	unknown := filepath.Join(dir, "2026-11-20-scan_nothing-belgium-geo.csv")
	for name, body := range map[string][]byte{cut: report.Bytes()[:report.Len()/2], unknown: []byte("timestamp,ip\n")} {
		if err := os.WriteFile(name, body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		file string
		want i18n.Message
	}{
		{unknown, i18n.M("shadowserver.unknownreport", filepath.Base(unknown))},
		{cut, i18n.M("pipeline.input.read", "unexpected EOF")},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			data := t.TempDir()
			if code, _, errOut := run(t, "", "ingest", "--data", data, tc.file); code != 1 {
				t.Fatalf("ingest: exit %d, want 1: %s", code, errOut)
			}
			for _, lang := range i18n.Codes {
				t.Setenv("VIGIL_LANG", lang)
				code, out, errOut := run(t, "", "feeds", "--data", data)
				if code != 0 {
					t.Fatalf("feeds: exit %d: %s", code, errOut)
				}
				said := []rune(tc.want.In(i18n.Embedded(), lang))
				if lang != i18n.Source && string(said) == tc.want.String() {
					t.Fatalf("%s says %s in English", lang, tc.want.ID)
				}
				// The column shows the start of a long reason.
				if start := string(said[:min(len(said), 40)]); !strings.Contains(out, start) {
					t.Errorf("%s: vigil feeds does not say %q:\n%s", lang, start, out)
				}
			}
		})
	}
}
