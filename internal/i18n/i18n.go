// Package i18n is Vigil's message catalogue: English source strings keyed by
// message ID, with Dutch, French and German translations that fall back to English
// message by message, and the choice of a language from a user's setting or
// the browser's Accept-Language.
//
// The decisions a reader needs to know:
//   - Every language has the same message IDs; a test fails when one
//     lacks an ID another has, and the console's tests fail when a
//     template prints words that do not come from here.
//   - A text that depends on a count has two messages, id.one and
//     id.other; Plural picks one with CLDR's plural rules for the
//     language (golang.org/x/text/feature/plural), so "1 attempt",
//     "2 attempts", and in French "0 tentative". The count is the
//     first argument, already formatted, written %s.
//   - Numbers are grouped as the language groups them (Number, through
//     golang.org/x/text/message); dates and times use the language's
//     layout, held in the catalogue as format.datetime and format.date,
//     and are always in UTC, which the labels beside them say.
package i18n

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

// Source is the language every message ID must exist in.
const Source = "en"

//go:embed catalog/*.txt
var catalogFiles embed.FS

// Language is one supported language.
type Language struct {
	Code string // ISO 639-1, e.g. "nl"
	Name string // its own name for itself, e.g. "Nederlands"
}

// Catalog holds the messages of every language. It is read-only after Load
// and safe for concurrent use.
type Catalog struct {
	messages map[string]map[string]string
	langs    []Language
	matcher  language.Matcher
	tags     map[string]language.Tag
}

// Load reads the embedded catalogue files catalog/<code>.txt.
func Load() (*Catalog, error) {
	entries, err := catalogFiles.ReadDir("catalog")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	c := &Catalog{messages: make(map[string]map[string]string), tags: make(map[string]language.Tag)}
	for _, e := range entries {
		code := strings.TrimSuffix(e.Name(), ".txt")
		b, err := catalogFiles.ReadFile(path.Join("catalog", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		m, err := Parse(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("i18n: catalog %s: %w", e.Name(), err)
		}
		c.messages[code] = m
	}
	if _, ok := c.messages[Source]; !ok {
		return nil, fmt.Errorf("i18n: no %s catalogue", Source)
	}
	codes := make([]string, 0, len(c.messages))
	for code := range c.messages {
		codes = append(codes, code)
	}
	// The source language first: it is the matcher's fallback.
	sort.Slice(codes, func(i, j int) bool {
		if (codes[i] == Source) != (codes[j] == Source) {
			return codes[i] == Source
		}
		return codes[i] < codes[j]
	})
	tags := make([]language.Tag, 0, len(codes))
	for _, code := range codes {
		tag, err := language.Parse(code)
		if err != nil {
			return nil, fmt.Errorf("i18n: catalogue name %q: %w", code, err)
		}
		tags = append(tags, tag)
		c.tags[code] = tag
		name := c.messages[code]["language.name"]
		if name == "" {
			name = code
		}
		c.langs = append(c.langs, Language{Code: code, Name: name})
	}
	c.matcher = language.NewMatcher(tags)
	return c, nil
}

// Parse reads a catalogue file: one "id = text" a line; blank lines and
// lines starting with # are skipped. In text, \n stands for a line break.
func Parse(r io.Reader) (map[string]string, error) {
	m := make(map[string]string)
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, text, ok := strings.Cut(line, "=")
		id, text = strings.TrimSpace(id), strings.TrimSpace(text)
		if !ok || id == "" || strings.ContainsAny(id, " \t") {
			return nil, fmt.Errorf("line %d: want \"id = text\"", n)
		}
		if _, dup := m[id]; dup {
			return nil, fmt.Errorf("line %d: %s defined twice", n, id)
		}
		m[id] = strings.ReplaceAll(text, `\n`, "\n")
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// Languages lists the supported languages, the source language first.
func (c *Catalog) Languages() []Language { return c.langs }

// Supported reports whether code is a catalogue language.
func (c *Catalog) Supported(code string) bool {
	_, ok := c.messages[code]
	return ok
}

// Has reports whether id exists in the source language.
func (c *Catalog) Has(id string) bool {
	_, ok := c.messages[Source][id]
	return ok
}

// IDs returns the message IDs of lang, sorted.
func (c *Catalog) IDs(lang string) []string {
	ids := make([]string, 0, len(c.messages[lang]))
	for id := range c.messages[lang] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Text returns the raw message for id in lang, falling back to the source
// language, then to the ID itself so a missing message shows but does not
// break the page.
func (c *Catalog) Text(lang, id string) string {
	if s, ok := c.messages[lang][id]; ok {
		return s
	}
	if s, ok := c.messages[Source][id]; ok {
		return s
	}
	return id
}

// T returns the message for id in lang, formatted with args (fmt verbs)
// when there are any. An argument that is a Message is said in lang too,
// so that a template can quote one (a feed's problem) in its sentence.
func (c *Catalog) T(lang, id string, args ...any) string {
	s := c.Text(lang, id)
	if len(args) == 0 {
		return s
	}
	// The caller's slice is copied before an argument is replaced.
	copied := false
	for i, a := range args {
		if m, ok := a.(Message); ok {
			if !copied {
				args, copied = slices.Clone(args), true
			}
			args[i] = m.In(c, lang)
		}
	}
	return fmt.Sprintf(s, args...)
}

// Translator returns T bound to lang, the form templates call as t.
func (c *Catalog) Translator(lang string) func(id string, args ...any) string {
	return func(id string, args ...any) string { return c.T(lang, id, args...) }
}

// Match picks the best supported language for an Accept-Language header,
// the source language when nothing matches.
func (c *Catalog) Match(acceptLanguage string) string {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Source
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return Source
	}
	return c.langs[i].Code
}

// Codes are the languages Vigil's own words exist in (a catalogue file
// each, which a test holds this list to), in the order forms and
// defaults offer them. Every capability that lets a person pick a
// language picks from these.
var Codes = []string{"en", "nl", "fr", "de"}
