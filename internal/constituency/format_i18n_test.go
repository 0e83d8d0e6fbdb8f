package constituency

import (
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// TestFormatAndSizeErrorsExplain: a format that cannot be told or is not
// known, and a file over the size limit, say so in each language, naming
// what was given.
func TestFormatAndSizeErrorsExplain(t *testing.T) {
	_, noExt := FormatOf("orgs")
	_, unknown := FormatOf("orgs.txt")
	_, flag := ParseFormat("xml")
	sizeLimit = 5
	t.Cleanup(func() { sizeLimit = MaxFileSize })
	_, _, large := ReadCSV(strings.NewReader(strings.Repeat("x", 10)))
	for _, c := range []struct {
		err  error
		name string
	}{{noExt, "orgs"}, {unknown, "txt"}, {flag, "xml"}, {large, "64"}} {
		m, ok := i18n.Explain(c.err)
		if !ok {
			t.Errorf("%v: does not explain itself", c.err)
			continue
		}
		en := m.In(i18n.Embedded(), "en")
		for _, lang := range []string{"en", "nl", "fr", "de"} {
			text := m.In(i18n.Embedded(), lang)
			if !strings.Contains(text, c.name) || strings.Contains(text, "%!") || (lang != "en" && text == en) {
				t.Errorf("%v in %s: %q", c.err, lang, text)
			}
		}
	}
}
