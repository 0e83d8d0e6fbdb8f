package notify

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

func TestTimeBoundsMatchesParsing(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	values := []string{
		"2026-11-19T10:00:00+00:00", "2026-11-19T09:59:59+00:00", "2026-11-20T00:00:00+00:00", "1970-01-01T00:00:00+00:00",
		"1969-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00", "2026-02-30T10:00:00+00:00", "2026-13-01T10:00:00+00:00",
		"2026-11-19T10:00:00.5+00:00", "2026-11-19T10:00:00.25+00:00", "2026-11-19 10:00:00+00:00", "9999-12-31T23:59:59+00:00",
		"2026-11-19T24:00:00+00:00", "not a time", "",
	}
	for range 5000 {
		events := make([]store.StoredEvent, rng.IntN(12))
		for i := range events {
			e := event.New(2)
			if v := values[rng.IntN(len(values))]; v != "" {
				e.SetTrusted("time.source", v)
			}
			events[i] = store.StoredEvent{Event: e}
		}
		first, last := timeBounds(events)
		wantFirst, wantLast := timeBoundsParsed(events)
		if !first.Equal(wantFirst) || !last.Equal(wantLast) || first.Location() != wantFirst.Location() || last.Location() != wantLast.Location() {
			var got []string
			for _, e := range events {
				got = append(got, e.Event.Value("time.source"))
			}
			t.Fatalf("%q: got %v, %v; want %v, %v", got, first, last, wantFirst, wantLast)
		}
	}
}

func TestExplanationsKeptByFieldsRead(t *testing.T) {
	for _, tt := range []struct {
		body string
		want typeField
	}{
		{"{{.Type}}{{if .Identifiers}}: {{join .Identifiers \", \"}}{{end}}", fieldType | fieldIdentifiers},
		{"{{plural .Count \"a\" \"b\"}} {{.Org.Name}}", fieldCount | fieldOrg},
		{"{{$.Taxonomy}} {{$x := .Language}}{{$x}}", fieldTaxonomy | fieldLanguage},
		{"{{range .Identifiers}}{{.}}{{end}}", allTypeFields},
		{"{{with .Org}}{{.Name}}{{end}}", allTypeFields},
		{"{{printf \"%v\" .}}", allTypeFields},
		{"{{$}}", allTypeFields},
		{"{{.Nosuch}}", allTypeFields},
		{"{{(.Org).Name}}", fieldOrg},
		{"{{define \"x\"}}{{.Count}}{{end}}{{template \"x\" .}}", allTypeFields},
	} {
		p, err := parseTemplate(TemplateSource{Language: "en", Name: "type/generic", Body: tt.body}, time.UTC)
		if err != nil {
			t.Fatalf("%q: %v", tt.body, err)
		}
		if p.typeFields != tt.want {
			t.Errorf("%q reads %b, want %b", tt.body, p.typeFields, tt.want)
		}
	}

	// Kept or not, an explanation is what executing the template gives.
	rng := rand.New(rand.NewPCG(19, 20))
	r := testRenderer(t, testConfig())
	override, err := parseTemplate(TemplateSource{Language: "en", Name: "type/scanner",
		Body: "{{.Org.Name}} {{.Count}} {{range .Identifiers}}[{{.}}]{{end}}"}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	r = r.withOverride(override)
	types := []string{"scanner", "ddos-amplifier", "infected-system", "phishing", "spam", "unknown", "blacklist"}
	for range 2000 {
		data := TypeData{Type: types[rng.IntN(len(types))], Taxonomy: []string{"", "vulnerable"}[rng.IntN(2)], Count: rng.IntN(3),
			Org: OrgData{Name: []string{"A", "B"}[rng.IntN(2)]}, Language: "en"}
		for range rng.IntN(3) {
			data.Identifiers = append(data.Identifiers, []string{"open-dns", "mirai", "x, y"}[rng.IntN(3)])
		}
		got, err := r.explain("en", data)
		if err != nil {
			t.Fatal(err)
		}
		name := TypePrefix + data.Type
		tmpl := r.override("en/" + name)
		if tmpl == nil {
			tmpl = r.builtins["en/"+name]
		}
		if tmpl == nil {
			tmpl = r.builtins["en/"+TypePrefix+GenericType]
		}
		want, err := tmpl.executeBody(data)
		if err != nil {
			t.Fatal(err)
		}
		if want = strings.TrimRight(want, "\n"); got != want {
			t.Fatalf("%+v: got %q, want %q", data, got, want)
		}
	}
}
