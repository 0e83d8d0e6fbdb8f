package constituency

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// TestProblemsInEveryLanguage reads the files of testdata and a few bad
// inputs they lack, and checks that every problem found has a Message
// whose text in Dutch, French and German is not the English one and
// names the line; and that every constituency.file.* message of the
// catalogue is among them, so that a problem added to the readers comes
// with an input here.
func TestProblemsInEveryLanguage(t *testing.T) {
	type input struct {
		name   string
		format Format
		data   string
	}
	var inputs []input
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, ".golden") {
			continue
		}
		format, err := FormatOf(name)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, input{filepath.Base(name), format, string(data)})
	}
	inputs = append(inputs,
		input{"a broken header", FormatCSV, "handle,\"name\n"},
		input{"a contact that is not an object", FormatJSON, `[{"handle": "a", "name": "A", "contacts": [42]}]`},
		input{"AS numbers that are not a list", FormatJSON, `[{"handle": "a", "name": "A", "asns": "AS64496"}]`},
	)

	c := i18n.Embedded()
	seen := map[string]bool{}
	for _, in := range inputs {
		_, notes, err := Read(strings.NewReader(in.data), in.format)
		problems := notes
		if invalid := (*InvalidError)(nil); errors.As(err, &invalid) {
			problems = invalid.Problems
		} else if err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		for _, p := range problems {
			seen[p.Message.ID] = true
			if p.Message.IsZero() {
				t.Errorf("%s: %q has no Message", in.name, p)
				continue
			}
			if got := p.Message.String(); got != p.Reason {
				t.Errorf("%s: Reason %q, but its Message in English is %q", in.name, p.Reason, got)
			}
			if p.Line <= 0 {
				t.Errorf("%s: %q has no line", in.name, p)
			}
			for _, lang := range []string{"nl", "fr", "de"} {
				got := p.In(c, lang)
				if reason := p.Message.In(c, lang); reason == p.Reason {
					t.Errorf("%s: %s: the reason of %q is the English", in.name, lang, p)
				}
				if line := c.T(lang, "constituency.problem.line", p.Line); !strings.Contains(got, line) {
					t.Errorf("%s: %s: %q does not say %q", in.name, lang, got, line)
				}
			}
		}
	}
	for _, id := range c.IDs(i18n.Source) {
		if strings.HasPrefix(id, "constituency.file.") && !seen[id] {
			t.Errorf("no input here gives %s", id)
		}
	}
}
