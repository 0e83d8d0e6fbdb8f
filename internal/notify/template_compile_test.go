package notify

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"text/template"
	"time"
)

// TestCompiledTemplatesMatch executes every built-in message template, in
// every language, compiled and by text/template, for many shapes of
// message (parts, sections with and without more events, repeats, each
// format and kind of attachment, times unknown, equal and different),
// and wants the same text.
func TestCompiledTemplatesMatch(t *testing.T) {
	zone, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		t.Fatal(err)
	}
	builtins, err := loadBuiltins(zone)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(27, 5))
	for _, lang := range Languages {
		for _, name := range []string{NameDigest, NameImmediate} {
			tm := builtins[lang+"/"+name]
			if tm.subjectProg == nil || tm.bodyProg == nil {
				t.Fatalf("%s/%s: not compiled (subject %v, body %v)", lang, name, tm.subjectProg != nil, tm.bodyProg != nil)
			}
			for round := range 400 {
				data := randomMessageData(rng, lang, name)
				for _, part := range []struct {
					what string
					prog *program
					tmpl *template.Template
				}{{"subject", tm.subjectProg, tm.subject}, {"body", tm.bodyProg, tm.body}} {
					var want bytes.Buffer
					if err := part.tmpl.Execute(&want, data); err != nil {
						t.Fatalf("%s/%s %s: %v", lang, name, part.what, err)
					}
					if got := part.prog.execute(nil, data); string(got) != want.String() {
						t.Fatalf("%s/%s %s, round %d: compiled\n%s\nwant\n%s", lang, name, part.what, round, got, want.String())
					}
				}
				// A pointer to the data is not what the programs are
				// compiled for: text/template renders it, the same.
				byValue, err1 := tm.executeBody(data)
				byPointer, err2 := tm.executeBody(&data)
				if err := errors.Join(err1, err2); err != nil || byValue != byPointer {
					t.Fatalf("%s/%s, round %d: by pointer %q, %v; by value %q", lang, name, round, byPointer, err, byValue)
				}
			}
		}
	}
}

func randomMessageData(rng *rand.Rand, lang, kind string) MessageData {
	pick := func(list ...string) string { return list[rng.IntN(len(list))] }
	first := time.Date(2026, 11, 19, rng.IntN(24), rng.IntN(60), 0, 0, time.UTC)
	d := MessageData{
		Kind: kind, Language: lang, Format: pick(FormatSummary, FormatJSON, FormatXARF, "other"),
		Org:       OrgData{Handle: "org-" + fmt.Sprint(rng.IntN(100)), Name: pick("Example University", "Ville de Liège", ""), Sector: "education", Country: "BE"},
		Team:      TeamData{Name: pick("CERT.example", "Vigil"), Email: "cert@example.org"},
		Type:      pick("", "infected-system", "ddos-amplifier"),
		PortalURL: pick("", "https://portal.example.org/"), WindowDays: rng.IntN(3) * 7, Date: first,
	}
	d.Parts = 1 + rng.IntN(3)
	d.Part = 1 + rng.IntN(d.Parts)
	d.Events, d.Total = rng.IntN(4), rng.IntN(5)
	switch rng.IntN(3) {
	case 1:
		d.First, d.Last = first, first
	case 2:
		d.First, d.Last = first, first.Add(time.Duration(rng.IntN(5000))*time.Minute)
	}
	for range rng.IntN(4) {
		s := Section{Type: pick("infected-system", "phishing", "unknown"), Taxonomy: "malicious-code", Count: rng.IntN(4),
			Explanation: pick("What was seen.\n\nWhy it matters.", "x"), Table: pick("", "  a  b\n  1  2"), Shown: rng.IntN(3), More: rng.IntN(3) * rng.IntN(4)}
		if rng.IntN(2) == 0 {
			s.Identifiers = []string{"mirai", "open-dns"}[:rng.IntN(3)]
		}
		d.Sections = append(d.Sections, s)
	}
	for range rng.IntN(3) {
		r := Repeat{Summary: pick("192.0.2.1 open-dns", "x"), Times: rng.IntN(3), FirstSent: first.Add(-time.Duration(rng.IntN(100)) * time.Hour)}
		if rng.IntN(5) == 0 {
			r.FirstSent = time.Time{} // date's "-"
		}
		d.Repeats = append(d.Repeats, r)
	}
	d.MoreRepeats = rng.IntN(2) * rng.IntN(9)
	for range rng.IntN(4) {
		d.Attachments = append(d.Attachments, Attachment{Name: pick("a.csv", "b.jsonl.gz"), Events: rng.IntN(3), Gzipped: rng.IntN(2) == 0})
	}
	if rng.IntN(4) == 0 {
		d.Sections, d.Repeats, d.Attachments = nil, nil, nil
	}
	return d
}

// TestCompileLeavesTheRest checks that what is not compiled is left to
// text/template rather than compiled wrong.
func TestCompileLeavesTheRest(t *testing.T) {
	for _, body := range []string{
		"{{with .Org}}{{.Name}}{{end}}",
		"{{$x := .Total}}{{$x}}",
		"{{.Org}}",
		"{{.Total | printf \"%d\"}}",
		"{{define \"x\"}}a{{end}}{{template \"x\" .}}",
		"{{.Nosuch}}",
		"{{eq .Total \"1\"}}",
		"{{join .Sections \", \"}}",
		"{{range $i, $s := .Sections}}{{$i}}{{end}}",
		"{{.Date.Format \"2006\"}}",
		"{{index .Sections 0}}",
		"{{1.5}}",
	} {
		tm, err := template.New("body").Funcs(funcs("en", time.UTC)).Parse(body)
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if len(tm.Templates()) != 1 {
			continue // define: more than one template, never compiled
		}
		if p, err := compileProgram(tm.Tree, reflect.TypeFor[MessageData](), "en", time.UTC); err == nil || p != nil {
			t.Errorf("%q compiled", body)
		}
	}
}

// BenchmarkDigestBody renders the English digest body of a small digest,
// compiled and through text/template.
func BenchmarkDigestBody(b *testing.B) {
	builtins, err := loadBuiltins(time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	first := time.Date(2026, 11, 19, 5, 0, 0, 0, time.UTC)
	d := MessageData{Kind: NameDigest, Language: "en", Format: FormatSummary, Org: OrgData{Name: "X", Handle: "x"},
		Team: TeamData{Name: "T", Email: "t@e"}, Total: 3, Events: 3, Part: 1, Parts: 1,
		First: first, Last: first.Add(time.Hour), WindowDays: 7,
		Sections:    []Section{{Type: "a", Count: 3, Explanation: "e", Table: "t", Shown: 2, More: 1}},
		Repeats:     []Repeat{{Summary: "s", Times: 2}, {Summary: "s2", Times: 1, FirstSent: first}},
		Attachments: []Attachment{{Name: "a.csv", Events: 3}}}
	for _, compiled := range []bool{true, false} {
		tm := builtins["en/digest"]
		if !compiled {
			tm.bodyProg = nil // the last run: the map is this benchmark's
		}
		b.Run(map[bool]string{true: "compiled", false: "text_template"}[compiled], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tm.executeBody(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// shouted is a string that text/template prints with its String method.
type shouted string

func (s shouted) String() string { return string(s) + "!" }

// countedErr is an int that text/template prints with its Error method
// (on the pointer).
type countedErr int

func (c *countedErr) Error() string { return fmt.Sprintf("error %d", int(*c)) }

type formatted int

func (f formatted) Format(s fmt.State, _ rune) { fmt.Fprintf(s, "#%d", int(f)) }

// TestCompileLeavesStringers checks that a field whose type has a Format,
// String or Error method is left to text/template, which prints it with that
// method, and that the compiled kinds still compile beside it.
func TestCompileLeavesStringers(t *testing.T) {
	type data struct {
		Name  shouted
		Count countedErr
		Num   formatted
		Plain string
	}
	for body, compiles := range map[string]bool{
		"{{.Name}}":  false,
		"{{.Count}}": false,
		"{{.Num}}":   false,
		"{{.Plain}}": true,
	} {
		tm := template.Must(template.New("t").Parse(body))
		p, err := compileProgram(tm.Tree, reflect.TypeFor[data](), "en", time.UTC)
		if got := err == nil && p != nil; got != compiles {
			t.Errorf("%s: compiled %v (%v), want %v", body, got, err, compiles)
		}
	}
}
