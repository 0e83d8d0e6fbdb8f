package notify

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// TestBuiltinTemplates checks that every language has the same templates,
// that each parses and executes with the sample data, and that the
// translations are translations: no language repeats another's text.
func TestBuiltinTemplates(t *testing.T) {
	names := BuiltinNames()
	required := []string{NameDigest, NameImmediate, "type/generic", "type/vulnerable-system", "type/infected-system",
		"type/brute-force", "type/scanner", "type/ddos-amplifier", "type/phishing", "type/malware-distribution",
		"type/system-compromise", "type/spam"}
	for _, r := range required {
		if !slices.Contains(names, r) {
			t.Errorf("no built-in template %s", r)
		}
	}
	for _, lang := range Languages {
		entries, err := fs.ReadDir(templateFiles, path.Join("templates", lang, "type"))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != len(names)-2 {
			t.Errorf("%s has %d type explanations, %s has %d", lang, len(entries), Languages[0], len(names)-2)
		}
	}
	texts := map[string]map[string]string{}
	for _, name := range names {
		texts[name] = map[string]string{}
		for _, lang := range Languages {
			tmpl, err := BuiltinTemplate(lang, name)
			if err != nil {
				t.Errorf("%s/%s: %v", lang, name, err)
				continue
			}
			if err := Check(tmpl); err != nil {
				t.Errorf("%s/%s: %v", lang, name, err)
			}
			if !utf8.ValidString(tmpl.Body) || !utf8.ValidString(tmpl.Subject) {
				t.Errorf("%s/%s is not UTF-8", lang, name)
			}
			texts[name][lang] = tmpl.Body
		}
		for i, a := range Languages {
			for _, b := range Languages[i+1:] {
				if texts[name][a] == texts[name][b] {
					t.Errorf("%s: %s and %s have the same text", name, a, b)
				}
			}
		}
	}
	for _, name := range names {
		if typ, ok := strings.CutPrefix(name, TypePrefix); ok && typ != GenericType && !taxonomy.ValidType(typ) {
			t.Errorf("type explanation %s names no classification type", name)
		}
	}
}

// TestTypeExplanationsSayWhatWhyAndWhatToDo checks that each explanation
// has its three paragraphs, in every language.
func TestTypeExplanationsSayWhatWhyAndWhatToDo(t *testing.T) {
	heads := map[string][]string{
		"en": {"What we observed:", "Why it matters:", "What to do:"},
		"nl": {"Wat we zagen:", "Waarom het belangrijk is:", "Wat u kunt doen:"},
		"fr": {"Ce que nous avons observé\u00a0:", "Pourquoi c'est important\u00a0:", "Ce qu'il faut faire\u00a0:"},
		"de": {"Was wir beobachtet haben:", "Warum es wichtig ist:", "Was zu tun ist:"},
	}
	for _, name := range BuiltinNames() {
		if !strings.HasPrefix(name, TypePrefix) {
			continue
		}
		for _, lang := range Languages {
			tmpl, err := BuiltinTemplate(lang, name)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range heads[lang] {
				if !strings.Contains(tmpl.Body, h) {
					t.Errorf("%s/%s lacks %q", lang, name, h)
				}
			}
		}
	}
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct {
		name string
		t    TemplateSource
		part string
		line int
	}{
		{"stray end", TemplateSource{Language: "en", Name: NameDigest, Subject: "s", Body: "one\ntwo\n{{end}}\nfour\n"}, "body", 3},
		{"bad subject", TemplateSource{Language: "en", Name: NameDigest, Subject: "{{.Total", Body: "b"}, "subject", 1},
		{"unknown function", TemplateSource{Language: "nl", Name: "type/scanner", Body: "a\n\n{{shout .Type}}"}, "body", 3},
		{"unknown language", TemplateSource{Language: "es", Name: NameDigest, Subject: "s", Body: "b"}, "language", 0},
		{"unknown name", TemplateSource{Language: "en", Name: "type/no-such-type", Body: "b"}, "name", 0},
		{"subject on a type", TemplateSource{Language: "en", Name: "type/spam", Subject: "s", Body: "b"}, "subject", 0},
		{"no subject", TemplateSource{Language: "en", Name: NameImmediate, Body: "b"}, "subject", 0},
		{"no body", TemplateSource{Language: "en", Name: NameImmediate, Subject: "s", Body: "  \n"}, "body", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTemplate(tt.t)
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want a *TemplateError", err)
			}
			if te.Part != tt.part || te.Line != tt.line {
				t.Errorf("error at %s line %d, want %s line %d: %v", te.Part, te.Line, tt.part, tt.line, err)
			}
		})
	}
}

// TestCheckExecutes catches what parses but fails when a message is
// rendered, with the line.
func TestCheckExecutes(t *testing.T) {
	tmpl := TemplateSource{Language: "de", Name: NameDigest, Subject: "{{.Total}} Meldungen",
		Body: "Hallo {{.Org.Name}},\n\n{{range .Sections}}{{.Title}}{{end}}\n"}
	if _, err := ParseTemplate(tmpl); err != nil {
		t.Fatalf("parse: %v", err)
	}
	err := Check(tmpl)
	var te *TemplateError
	if !errors.As(err, &te) || te.Part != "body" || te.Line != 3 {
		t.Fatalf("got %v, want an error in body line 3", err)
	}
	if !strings.Contains(err.Error(), "Title") {
		t.Errorf("error %q does not name the field", err)
	}
	typeTmpl := TemplateSource{Language: "en", Name: "type/generic", Body: "{{.Type}} {{.Sections}}"}
	if err := Check(typeTmpl); err == nil {
		t.Error("a type explanation using a message field passed Check")
	}
	good := TemplateSource{Language: "en", Name: NameImmediate, Subject: "Now: {{.Type}}", Body: "{{range .Sections}}{{.Explanation}}{{end}}"}
	if err := Check(good); err != nil {
		t.Errorf("good template refused: %v", err)
	}
}

// TestSubjectIsOneLine makes sure a template cannot add header fields.
func TestSubjectIsOneLine(t *testing.T) {
	p, err := ParseTemplate(TemplateSource{Language: "en", Name: NameDigest,
		Subject: "a\r\nBcc: everyone@example.net\n{{.Org.Name}}\u0007", Body: "b"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.executeSubject(sampleMessageData("en"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(s, "\r\n\a") || s != "a Bcc: everyone@example.net Example University?" {
		t.Errorf("subject %q", s)
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"digest": true, "immediate": true, "type/generic": true, "type/phishing": true,
		"type/": false, "type/nonsense": false, "summary": false, "": false, "Digest": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v", name, got)
		}
	}
}

func TestPlural(t *testing.T) {
	for _, tt := range []struct {
		lang string
		n    int
		want string
	}{{"en", 0, "many"}, {"en", 1, "one"}, {"en", 2, "many"}, {"fr", 0, "one"}, {"fr", 1, "one"}, {"fr", 2, "many"}, {"nl", 0, "many"}, {"de", 1, "one"}} {
		f := funcs(tt.lang, nil)["plural"].(func(int, string, string) string)
		if got := f(tt.n, "one", "many"); got != tt.want {
			t.Errorf("%s plural(%d) = %s, want %s", tt.lang, tt.n, got, tt.want)
		}
	}
}
