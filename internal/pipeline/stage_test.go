package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

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

// TestOptionErrorsInEveryLanguage: an option a module does not know, or
// a value it cannot take, is said in the reader's language, the key and
// the value as they were given; the English is what the log shows.
func TestOptionErrorsInEveryLanguage(t *testing.T) {
	c := i18n.Embedded()
	var o struct {
		Count    int               `opt:"count"`
		Ratio    float64           `opt:"ratio"`
		Keep     bool              `opt:"keep"`
		Interval time.Duration     `opt:"interval"`
		Keys     []string          `opt:"keys"`
		Headers  map[string]string `opt:"headers"`
		Format   string            `opt:"format" choice:"csv,json"`
		Name     string            `opt:"name"`
	}
	for _, tt := range []struct {
		opts  Options
		en    string
		given string // what the message quotes in every language
	}{
		{Options{"cuont": 3}, "unknown option cuont (known: count, ratio, keep, interval, keys, headers, format, name)", "cuont"},
		{Options{"count": "many"}, "option count: want an integer, got many", "many"},
		{Options{"ratio": "half"}, "option ratio: want a number, got half", "half"},
		{Options{"keep": "sometimes"}, "option keep: want true or false, got sometimes", "sometimes"},
		{Options{"interval": 90}, `option interval: want a duration such as "24h", got 90`, "90"},
		{Options{"interval": "90"}, `option interval: time: missing unit in duration "90"`, `time: missing unit in duration "90"`},
		{Options{"keys": 1}, "option keys: want a list of strings, got int", "int"},
		{Options{"keys": []any{"a", 1}}, "option keys[1]: want a string, got int", "keys[1]"},
		{Options{"headers": "A: 1"}, "option headers: want a mapping, got string", "headers"},
		{Options{"headers": map[string]any{"A": []any{}}}, "option headers.A: want a string, got []interface {}", "headers.A"},
		{Options{"format": "xml"}, `option format: want one of csv, json, got "xml"`, "csv, json"},
		{Options{"name": []any{"x"}}, "option name: want a string, got []interface {}", "name"},
	} {
		err := tt.opts.Decode(&o)
		if err == nil || err.Error() != tt.en {
			t.Errorf("%v: err = %v, want %q", tt.opts, err, tt.en)
			continue
		}
		m, ok := i18n.Explain(err)
		if !ok {
			t.Errorf("%v does not explain itself", err)
			continue
		}
		for _, lang := range []string{"nl", "fr", "de"} {
			got := m.In(c, lang)
			if !strings.Contains(got, tt.given) || strings.Contains(got, "want") || strings.Contains(got, "known") || strings.Contains(got, "pipeline.option") {
				t.Errorf("%s: %q is English or does not quote %q", lang, got, tt.given)
			}
		}
	}
	// A module without options says it takes none.
	err := Options{"nope": 1}.Decode(&struct{}{})
	if m, _ := i18n.Explain(err); err.Error() != "unknown option nope (this module takes none)" || m.In(c, "de") != "unbekannte Option nope (dieses Modul hat keine Optionen)" {
		t.Errorf("err = %v, in German %q", err, m.In(c, "de"))
	}
}
