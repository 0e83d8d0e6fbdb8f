package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
)

// TestErrorsInEveryLanguage: every configuration a person can get wrong
// (each bad file, a bad environment variable, a file that is not there,
// a feed definition that is not YAML) is refused with an error that
// explains itself, in each language a sentence of that language that
// names the key, or the file and the line.
func TestErrorsInEveryLanguage(t *testing.T) {
	c, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func() error{
		"VIGIL_PIPELINE_WORKERS=x": func() error {
			_, err := Load("", func(k string) string {
				if k == "VIGIL_PIPELINE_WORKERS" {
					return "x"
				}
				return ""
			})
			return err
		},
		"missing file": func() error {
			_, err := Load(filepath.Join(t.TempDir(), "none.yml"), noEnv)
			return err
		},
		"feed definition": func() error {
			_, err := ParseFeed([]byte("name: a\nparser: csv\nkeep_raw: [1]\n"))
			return err
		},
		"override of another feed": func() error {
			_, err := parseOverride(feedadmin.Override{Name: "a", Definition: []byte("name: b\nparser: csv\n")})
			return err
		},
	}
	files, _ := filepath.Glob("testdata/*.bad.yml")
	for _, f := range files {
		cases[filepath.Base(f)] = func() error {
			_, err := Load(f, noEnv)
			return err
		}
	}
	for name, load := range cases {
		t.Run(name, func(t *testing.T) {
			err := load()
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("%v is not a *config.Error", err)
			}
			m, ok := i18n.Explain(err)
			if !ok {
				t.Fatalf("%v does not explain itself", err)
			}
			if !c.Has(ce.Message.ID) {
				t.Fatalf("%v: message %s is not in the catalogue", err, ce.Message.ID)
			}
			where := ce.Key
			if ce.File != "" {
				where = ce.File
			}
			english := ce.Message.In(c, "en")
			for _, lang := range []string{"en", "nl", "fr", "de"} {
				got, sentence := m.In(c, lang), ce.Message.In(c, lang)
				switch {
				case sentence == "" || strings.Contains(got, "%!"):
					t.Errorf("%s: %q", lang, got)
				case !strings.Contains(got, where):
					t.Errorf("%s: %q does not name %s", lang, got, where)
				case ce.Line > 0 && !strings.Contains(got, c.T(lang, "config.error.lineonly", ce.Line)):
					t.Errorf("%s: %q does not name line %d", lang, got, ce.Line)
				case lang != "en" && sentence == english:
					t.Errorf("%s: %q is the English", lang, got)
				}
			}
		})
	}
}

// TestEveryMessageIsInTheCatalogue: the configuration errors' catalogue
// IDs, in this package and in the sections' own (notify, smtp, social,
// newsletter), all exist, so that one no bad file reaches still shows a
// sentence, not its ID.
func TestEveryMessageIsInTheCatalogue(t *testing.T) {
	c, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`"(config\.error\.[a-z._]+)"`)
	found := 0
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range id.FindAllStringSubmatch(string(src), -1) {
			found++
			if !c.Has(m[1]) {
				t.Errorf("%s: %s is not in the catalogue", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 100 {
		t.Errorf("only %d configuration messages found", found)
	}
}

// TestYAMLMessages: the library's type errors become sentences that say
// what the key wants.
func TestYAMLMessages(t *testing.T) {
	for reason, want := range map[string]string{
		"field lisen not found in type config.Config":             "config.error.yaml.unknown",
		"field listen already set in type config.Config":          "config.error.yaml.set",
		`mapping key "listen" already defined at line 1`:          "config.error.yaml.twice",
		"cannot unmarshal !!str `many` into int":                  "config.error.yaml.int",
		"cannot unmarshal !!str `x` into int64":                   "config.error.yaml.int",
		"cannot unmarshal !!str `x` into float64":                 "config.error.yaml.number",
		"cannot unmarshal !!str `maybe` into bool":                "config.error.yaml.bool",
		"cannot unmarshal !!str `soon` into time.Duration":        "config.error.yaml.duration",
		"cannot unmarshal !!str `inbox` into []config.Feed":       "config.error.yaml.list",
		"cannot unmarshal !!map into []string":                    "config.error.yaml.list",
		"cannot unmarshal !!str `yes` into notify.Config":         "config.error.yaml.section",
		"cannot unmarshal !!int `3` into *channel.MastodonConfig": "config.error.yaml.section",
		"cannot unmarshal !!str `a` into map[string]string":       "config.error.yaml.section",
		"cannot unmarshal !!seq into string":                      "config.error.yaml.scalar",
		"cannot unmarshal !!map into time.Duration":               "config.error.yaml.scalar",
		"cannot unmarshal !!seq into config.Stage":                "config.error.yaml.type",
		"something the library says that nobody foresaw":          "config.error.yaml.type",
	} {
		if got := yamlTypeMessage(reason); got.ID != want {
			t.Errorf("%s: %s, want %s", reason, got.ID, want)
		}
	}
}
