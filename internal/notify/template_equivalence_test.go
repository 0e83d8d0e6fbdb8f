package notify

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

// randomMessageData fills every field the templates read, with the
// edge values (zero, one, many, empty) they branch on.
func randomMessageData(rng *rand.Rand, lang string) MessageData {
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	at := time.Date(2026, 11, 19, rng.IntN(24), rng.IntN(60), 0, 0, time.UTC)
	d := MessageData{
		Kind: pick(NameDigest, NameImmediate), Language: lang, Format: pick(store.FormatSummary, store.FormatJSON, store.FormatXARF),
		Org:  OrgData{Handle: pick("org-1", "x"), Name: pick("Org & Co", "<b>", "École"), Sector: pick("", "health"), Country: pick("", "BE")},
		Team: TeamData{Name: pick("CERT", "Équipe"), Email: "cert@example.org"}, Type: pick("", "scanner", "phishing"),
		Events: rng.IntN(3), Total: rng.IntN(3), Part: 1 + rng.IntN(2), Parts: 1 + rng.IntN(3),
		PortalURL: pick("", "https://portal.example.org/"), WindowDays: rng.IntN(3), MoreRepeats: rng.IntN(3), Date: at,
	}
	switch rng.IntN(3) {
	case 1:
		d.First, d.Last = at, at
	case 2:
		d.First, d.Last = at, at.Add(time.Hour)
	}
	for range rng.IntN(4) {
		d.Sections = append(d.Sections, Section{Type: pick("scanner", "unknown"), Taxonomy: pick("", "vulnerable"),
			Identifiers: []string{"a"}[:rng.IntN(2)], Count: rng.IntN(3), Explanation: pick("", "Explained.\nTwice."),
			Table: pick("", "  A  B\n  1  2"), Shown: rng.IntN(3), More: rng.IntN(3)})
	}
	for range rng.IntN(3) {
		d.Repeats = append(d.Repeats, Repeat{Summary: pick("open-dns on 192.0.2.1", ""), Times: rng.IntN(3), FirstSent: at.AddDate(0, 0, -rng.IntN(3))})
	}
	for range rng.IntN(4) {
		d.Attachments = append(d.Attachments, Attachment{Name: pick("a.csv", "b.jsonl.gz"), Events: rng.IntN(3), Gzipped: rng.IntN(2) == 0})
	}
	return d
}

func TestFastTemplatesMatchTextTemplate(t *testing.T) {
	zone, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		t.Fatal(err)
	}
	builtins, err := loadBuiltins(zone)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(23, 24))
	for key, tmpl := range builtins {
		if tmpl.fastBody == nil || (tmpl.subject != nil && tmpl.fastSubject == nil) {
			t.Errorf("built-in %s runs through text/template only", key)
			continue
		}
		for range 300 {
			var data any
			if tmpl.subject != nil {
				data = randomMessageData(rng, tmpl.Language)
			} else {
				data = TypeData{Type: "scanner", Taxonomy: []string{"", "vulnerable"}[rng.IntN(2)], Identifiers: []string{"a", "b, c"}[:rng.IntN(3)],
					Count: rng.IntN(3), Org: OrgData{Name: "Org"}, Language: tmpl.Language}
			}
			parts := []struct {
				name    string
				fast    *fastTemplate
				execute func(*bytes.Buffer) error
			}{{"body", tmpl.fastBody, func(b *bytes.Buffer) error { return tmpl.body.Execute(b, data) }}}
			if tmpl.subject != nil {
				parts = append(parts, struct {
					name    string
					fast    *fastTemplate
					execute func(*bytes.Buffer) error
				}{"subject", tmpl.fastSubject, func(b *bytes.Buffer) error { return tmpl.subject.Execute(b, data) }})
			}
			for _, p := range parts {
				var got, want bytes.Buffer
				if !p.fast.execute(&got, data) {
					t.Fatalf("%s %s: the fast form gave up on %+v", key, p.name, data)
				}
				if err := p.execute(&want); err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					t.Fatalf("%s %s:\n got %q\nwant %q", key, p.name, got.String(), want.String())
				}
			}
		}
	}
}

// TestFastTemplateEdges runs templates at the edges of what the fast form
// knows: where it executes them its output must be text/template's, and
// where it gives up, executeBody must still give text/template's output
// or error.
func TestFastTemplateEdges(t *testing.T) {
	data := MessageData{Org: OrgData{Name: "A"}, Total: 2, Parts: 1, Format: "json", First: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Attachments: []Attachment{{Name: "x", Events: 1}}, Sections: []Section{{Count: 3}}}
	for _, tt := range []struct {
		body string
		fast bool // whether the fast form executes it
	}{
		{"{{.Org.Name}} {{.Total}} {{.Attachments}}", false},
		{"{{.First}}", false},
		{"{{.First.IsZero}} {{.First.Equal .Last}} {{not .First.IsZero}}", true},
		{"{{eq .Format \"json\"}} {{eq .Total 2}} {{ne .Total 1}} {{lt .Total 3}} {{le .Total 2}} {{gt .Total 2}} {{ge .Total 2}}", true},
		{"{{eq .Format 2}}", false},
		{"{{eq .Total .Part}}", true},
		{"{{gt .First .Last}}", false},
		{"{{plural .Total \"a\" \"b\"}} {{plural 1 \"a\" \"b\"}} {{plural 1.0 \"a\" \"b\"}}", false},
		{"{{plural .Total \"a\" \"b\"}} {{plural 1 \"a\" \"b\"}}", true},
		{"{{printf \"%d-%s-%v\" .Total .Org.Name .Parts}} {{printf \"%v\" .First}}", true},
		{"{{len .Attachments}} {{len .Org.Name}} {{len .Total}}", false},
		{"{{len .Attachments}} {{len .Org.Name}}", true},
		{"{{range .Attachments}}{{.Name}}:{{$.Format}}{{else}}none{{end}}{{range .Repeats}}x{{else}}no repeats{{end}}", true},
		{"{{range .Sections}}{{.Count}}{{.Nosuch}}{{end}}", false},
		{"{{range $i, $a := .Attachments}}{{$i}}{{end}}", false},
		{"{{with .Org}}{{.Name}}{{end}}", false},
		{"{{.Org.Name | printf \"%s\"}}", false},
		{"{{if .Sections}}{{join .Sections \",\"}}{{end}}", false},
		{"{{date .First}} {{date .Date}}", true},
		{"{{date .Org}}", false},
		{"{{.Nosuch}}", false},
		{"{{(printf \"%d\" .Total)}} {{.}}", false},
	} {
		p, err := parseTemplate(store.NotificationTemplate{Language: "en", Name: NameDigest, Subject: "s", Body: tt.body}, time.UTC)
		if err != nil {
			t.Fatalf("%q: %v", tt.body, err)
		}
		var fast bytes.Buffer
		ran := p.fastBody != nil && p.fastBody.execute(&fast, data)
		if ran != tt.fast {
			t.Errorf("%q: fast form ran %v, want %v", tt.body, ran, tt.fast)
		}
		var want bytes.Buffer
		wantErr := p.body.Execute(&want, data)
		got, err := p.executeBody(data)
		if (err == nil) != (wantErr == nil) || (err == nil && got != want.String()) {
			t.Errorf("%q: executeBody = %q, %v; text/template %q, %v", tt.body, got, err, want.String(), wantErr)
		}
		if ran && fast.String() != want.String() {
			t.Errorf("%q: fast %q, text/template %q", tt.body, fast.String(), want.String())
		}
	}
}
