package products

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

func TestReadFile(t *testing.T) {
	csvFile := "product,vendor,version,cpe,purl,note\n" +
		"HTTP Server,Apache,2.4.58,,,web\n" +
		",,,cpe:2.3:o:linux:linux_kernel:5.10.150:*:*:*:*:*:*:*,,\n" +
		"\n" +
		",,,,pkg:npm/left-pad@1.3.0,\"with, comma\"\n"
	ds, err := ReadFile(strings.NewReader(csvFile), "import")
	if err != nil {
		t.Fatalf("ReadFile(CSV): %v", err)
	}
	if len(ds) != 3 || ds[0].Product != "HTTP Server" || ds[1].Product != "linux_kernel" || ds[2].Note != "with, comma" || ds[2].AddedBy != "import" {
		t.Fatalf("read %+v", ds)
	}
	// What is exported reads back the same, as CSV and as JSON.
	for name, write := range map[string]func(*bytes.Buffer) error{
		"csv":  func(b *bytes.Buffer) error { return WriteCSV(b, ds) },
		"json": func(b *bytes.Buffer) error { return WriteJSON(b, ds) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		again, err := ReadFile(&b, "import")
		if err != nil || len(again) != 3 {
			t.Fatalf("%s round trip: %v, %d", name, err, len(again))
		}
		for i := range ds {
			if again[i].Identifier() != ds[i].Identifier() || again[i].Note != ds[i].Note {
				t.Errorf("%s round trip: %+v, want %+v", name, again[i], ds[i])
			}
		}
	}
	cat := i18n.Embedded()
	bad := []struct{ name, file, want string }{
		{"unknown column", "product,colour\nx,red\n", `Unknown column "colour"`},
		{"bad CPE on entry 2", "cpe\ncpe:2.3:a:x:y:*:*:*:*:*:*:*:*\ncpe:2.3:a:x\n", "Entry 2: This is not a valid CPE 2.3 name"},
		{"bad JSON", `[{"product": }]`, "neither a CSV file"},
		{"empty", "product\n", "holds no product"},
		{"no product", `[{"vendor": "x"}]`, "Entry 1: Name the product"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFile(strings.NewReader(tt.file), "x")
			var ie *publication.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("ReadFile = %v, want a refusal", err)
			}
			if got := ie.Message.In(cat, "en"); !strings.Contains(got, tt.want) {
				t.Errorf("refusal %q, want %q", got, tt.want)
			}
			if fr := ie.Message.In(cat, "fr"); fr == ie.Message.In(cat, "en") {
				t.Errorf("the refusal is not translated: %q", fr)
			}
		})
	}
}

func FuzzReadFile(f *testing.F) {
	f.Add("product,version\nx,1\n")
	f.Add(`[{"cpe":"cpe:2.3:a:x:y:1:*:*:*:*:*:*:*"}]`)
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := ReadFile(strings.NewReader(s), "x")
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := WriteCSV(&b, ds); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadFile(&b, "x"); err != nil {
			t.Errorf("what was read does not read back: %v\n%s", err, b.String())
		}
	})
}
