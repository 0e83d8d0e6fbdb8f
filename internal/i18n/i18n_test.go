package i18n

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, l := range c.Languages() {
		codes = append(codes, l.Code)
	}
	if !slices.Equal(codes, []string{"en", "de", "fr", "nl"}) {
		t.Fatalf("languages %v", codes)
	}
	if got := c.T("nl", "nav.events"); got != "Gebeurtenissen" {
		t.Errorf("nl nav.events = %q", got)
	}
	if got := c.T("fr", "nav.events"); got != "Événements" {
		t.Errorf("fr nav.events = %q", got)
	}
	// A message a translation lacks (one added to the source since)
	// falls back to English.
	partial := &Catalog{messages: map[string]map[string]string{
		Source: {"feeds.lag": "Lag", "nav.home": "Home"},
		"nl":   {"nav.home": "Start"},
	}}
	if got := partial.T("nl", "feeds.lag"); got != "Lag" {
		t.Errorf("fallback = %q", got)
	}
	if got := c.T("xx", "nav.home"); got != "Home" {
		t.Errorf("unknown language = %q", got)
	}
	if got := c.T("en", "no.such.message"); got != "no.such.message" {
		t.Errorf("missing message = %q", got)
	}
}

// TestCatalogsComplete keeps every catalogue complete: every message of
// the source has a text in each language, so a page never shows English
// to a reader who chose another language.
func TestCatalogsComplete(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"de", "fr", "nl"} {
		if !c.Supported(lang) {
			t.Fatalf("no %s catalogue", lang)
		}
		have := make(map[string]bool)
		for _, id := range c.IDs(lang) {
			have[id] = true
		}
		for _, id := range c.IDs(Source) {
			if !have[id] {
				t.Errorf("%s: %s is missing", lang, id)
			}
		}
	}
}

// TestCatalogsLineUp keeps the catalogues in step, line for line: a
// message is on the same line in every file, and blank lines and
// comments stand where en.txt has them, so that a translator finds a
// message and the one of another language at one line number, and a
// message added to one file's end and not the others' shows at once. The
// first comment lines, each file's own header, may differ in text.
func TestCatalogsLineUp(t *testing.T) {
	read := func(code string) []string {
		b, err := catalogFiles.ReadFile("catalog/" + code + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(b), "\n")
	}
	// shape is what a line must match in every file: its message ID, or
	// that it is blank or a comment.
	shape := func(line string) string {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			return "(blank)"
		case strings.HasPrefix(line, "#"):
			return "(comment)"
		}
		id, _, _ := strings.Cut(line, "=")
		return strings.TrimSpace(id)
	}
	source := read(Source)
	for _, code := range []string{"nl", "fr", "de"} {
		lines := read(code)
		if len(lines) != len(source) {
			t.Errorf("%s.txt has %d lines, %s.txt %d", code, len(lines), Source, len(source))
		}
		for i := range min(len(lines), len(source)) {
			if got, want := shape(lines[i]), shape(source[i]); got != want {
				t.Errorf("%s.txt line %d is %s, %s.txt's is %s", code, i+1, got, Source, want)
				break
			}
		}
	}
}

// TestTranslationsMatchSource keeps translations honest: no ID the source
// lacks (a typo would never be shown) and the same format verbs.
func TestTranslationsMatchSource(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	verbs := regexp.MustCompile(`%[-+# 0]*[0-9]*(\.[0-9]+)?[a-zA-Z%]`)
	for _, l := range c.Languages() {
		for _, id := range c.IDs(l.Code) {
			if !c.Has(id) {
				t.Errorf("%s: %s is not in the source catalogue", l.Code, id)
				continue
			}
			src := verbs.FindAllString(c.Text(Source, id), -1)
			got := verbs.FindAllString(c.Text(l.Code, id), -1)
			if !slices.Equal(src, got) {
				t.Errorf("%s: %s has verbs %v, source %v", l.Code, id, got, src)
			}
		}
	}
}

func TestMatch(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for header, want := range map[string]string{
		"":                        "en",
		"nl-BE,nl;q=0.9,en;q=0.8": "nl",
		"fr-BE, fr;q=0.9":         "fr",
		"de-DE,de;q=0.9":          "de",
		"de;q=0.9, fr;q=0.5":      "de",
		"da;q=0.9, fr;q=0.5":      "fr",
		"en-GB,en;q=0.9,nl;q=0.1": "en",
		"garbage;;;q=x":           "en",
	} {
		if got := c.Match(header); got != want {
			t.Errorf("Match(%q) = %q, want %q", header, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	m, err := Parse(strings.NewReader("# comment\n\na.b = Hello, %s\nc = two\\nlines\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m["a.b"] != "Hello, %s" || m["c"] != "two\nlines" {
		t.Fatalf("%q", m)
	}
	for name, in := range map[string]string{
		"no equals": "just text\n",
		"empty id":  " = text\n",
		"space id":  "a b = text\n",
		"duplicate": "a = 1\na = 2\n",
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	c, _ := Load()
	if got := c.T("en", "nonexistent %d", 3); got != "nonexistent 3" {
		t.Errorf("args: %q", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("a = b\n# c\n\nd.e = f %s\n")
	f.Add("=\n")
	f.Fuzz(func(t *testing.T, in string) {
		m, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		for id := range m {
			if id == "" || strings.ContainsAny(id, " \t=") {
				t.Fatalf("bad id %q accepted", id)
			}
		}
	})
}

// TestTranslationsDiffer catches English copied into a translation: a
// message whose text is the English one must consist of words the
// language shares with English (SharedWithEnglish).
func TestTranslationsDiffer(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	verbs := regexp.MustCompile(`%[-+# 0]*[0-9]*(\.[0-9]+)?[a-zA-Z%]`)
	// Single letters are units (s, h) or parts of examples (univ-a).
	words := regexp.MustCompile(`\pL{2,}`)
	shared := func(lang, w string) bool {
		w = strings.ToLower(w)
		return slices.Contains(SharedWithEnglish(lang), w)
	}
	for _, lang := range []string{"nl", "fr", "de"} {
		for _, id := range c.IDs(lang) {
			text := c.Text(lang, id)
			if text != c.Text(Source, id) {
				continue
			}
			for _, w := range words.FindAllString(verbs.ReplaceAllString(text, " "), -1) {
				if !shared(lang, w) {
					t.Errorf("%s: %s is the English %q: %q is not a word %s shares with English", lang, id, text, w, lang)
				}
			}
		}
	}
}

// TestCodesAreTheCatalogues: Codes names exactly the catalogue files,
// the source language first, so a language added to the catalogue is
// offered everywhere and a code in Codes always has its words.
func TestCodesAreTheCatalogues(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, l := range c.Languages() {
		files = append(files, l.Code)
	}
	got := append([]string(nil), Codes...)
	sort.Strings(got)
	sort.Strings(files)
	if !slices.Equal(got, files) || Codes[0] != Source {
		t.Errorf("Codes %v, catalogue files %v (the source %s first)", Codes, files, Source)
	}
}
