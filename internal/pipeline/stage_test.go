package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// TestUnknownModule: a module ID that no module of its kind has is an
// error that names the kind, the ID and the IDs there are, in the
// reader's language, the kind's word too.
func TestUnknownModule(t *testing.T) {
	c := i18n.Embedded()
	for _, tt := range []struct {
		kind  string
		build func() error
	}{
		{"collector", func() error { _, err := NewCollector("nope", Env{}, "feed", nil); return err }},
		{"parser", func() error { _, err := NewParser("nope", Env{}, nil); return err }},
		{"enricher", func() error { _, err := NewEnricher("nope", Env{}, nil); return err }},
		{"output", func() error { _, err := NewOutput("nope", Env{}, nil); return err }},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			err := tt.build()
			var unknown *UnknownModuleError
			if !errors.As(err, &unknown) || unknown.Kind != tt.kind || unknown.ID != "nope" {
				t.Fatalf("err = %#v, want an UnknownModuleError for the %s nope", err, tt.kind)
			}
			m, ok := i18n.Explain(err)
			if !ok {
				t.Fatalf("%v does not explain itself", err)
			}
			known := strings.Join(unknown.Known, ", ")
			if want := `unknown ` + tt.kind + ` "nope" (known: ` + known + `)`; err.Error() != want {
				t.Errorf("English %q, want %q", err, want)
			}
			for _, lang := range []string{"nl", "fr", "de"} {
				got, kind := m.In(c, lang), c.T(lang, "pipeline.kind."+tt.kind)
				if !strings.Contains(got, kind) || !strings.Contains(got, "nope") || !strings.Contains(got, known) ||
					strings.Contains(got, "known") || strings.Contains(got, " "+tt.kind+" ") || strings.Contains(got, "pipeline.") {
					t.Errorf("%s: %q does not name the %s (%q), nope and %q in %s", lang, got, tt.kind, kind, known, lang)
				}
			}
		})
	}
	// The parsers there are are named, sorted.
	_, err := NewParser("nope", Env{}, nil)
	if !strings.Contains(err.Error(), "(known: auto") {
		t.Errorf("%v does not name the parser auto", err)
	}
}
