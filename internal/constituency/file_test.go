package constituency

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGolden reads every testdata/*.csv and *.json and compares the
// outcome with <file>.golden: the problems, one a line, then "---" and the
// organisations as WriteJSON writes them when the file was accepted.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden") {
			continue
		}
		n++
		t.Run(filepath.Base(in), func(t *testing.T) {
			format, err := FormatOf(in)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(in)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			orgs, notes, err := Read(f, format)
			var got bytes.Buffer
			var invalid *InvalidError
			switch {
			case errors.As(err, &invalid):
				if len(invalid.Problems) == 0 || !HasErrors(invalid.Problems) {
					t.Errorf("InvalidError without errors: %v", invalid.Problems)
				}
				if orgs != nil {
					t.Errorf("organisations returned with an error")
				}
				writeProblems(&got, invalid.Problems)
			case err != nil:
				t.Fatal(err)
			default:
				writeProblems(&got, notes)
				got.WriteString("---\n")
				if err := WriteJSON(&got, orgs); err != nil {
					t.Fatal(err)
				}
			}
			golden := in + ".golden"
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("%s differs:\n%s", golden, lineDiff(got.String(), string(want)))
			}
		})
	}
	if n == 0 {
		t.Fatal("no test inputs")
	}
}

func writeProblems(b *bytes.Buffer, problems []Problem) {
	for _, p := range problems {
		b.WriteString(strings.ReplaceAll(p.String(), "\n", `\n`))
		b.WriteByte('\n')
	}
}

func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			fmt.Fprintf(&b, "line %d:\n  got  %s\n  want %s\n", i+1, gl, wl)
		}
	}
	return b.String()
}

func readFile(t *testing.T, name string) []Organisation {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	format, _ := FormatOf(name)
	orgs, _, err := Read(f, format)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return orgs
}

func TestCSVAndJSONAgree(t *testing.T) {
	fromCSV, fromJSON := readFile(t, "ok.csv"), readFile(t, "ok.json")
	if !reflect.DeepEqual(fromCSV, fromJSON) {
		t.Errorf("ok.csv and ok.json differ:\n%+v\n%+v", fromCSV, fromJSON)
	}
}

// TestRoundTrip writes what was read and reads it again, in both formats:
// export then import must give back exactly the same organisations, and
// writing twice the same bytes.
func TestRoundTrip(t *testing.T) {
	orgs := readFile(t, "ok.csv")
	for _, format := range []Format{FormatCSV, FormatJSON} {
		t.Run(string(format), func(t *testing.T) {
			var first, second bytes.Buffer
			if err := Write(&first, format, orgs); err != nil {
				t.Fatal(err)
			}
			again, _, err := Read(bytes.NewReader(first.Bytes()), format)
			if err != nil {
				t.Fatalf("reading what was written: %v\n%s", err, first.String())
			}
			if !reflect.DeepEqual(again, orgs) {
				t.Errorf("round trip changed the organisations:\n%+v\n%+v", again, orgs)
			}
			if err := Write(&second, format, again); err != nil {
				t.Fatal(err)
			}
			if first.String() != second.String() {
				t.Errorf("writing is not deterministic:\n%s", lineDiff(second.String(), first.String()))
			}
		})
	}
}

// TestWriteSorts gives the writer organisations in an unusual order, as a
// store might hold them, and expects the order of a normalized file.
func TestWriteSorts(t *testing.T) {
	orgs := readFile(t, "ok.csv")
	var want bytes.Buffer
	if err := WriteCSV(&want, orgs); err != nil {
		t.Fatal(err)
	}
	shuffled := make([]Organisation, len(orgs))
	for i, o := range orgs {
		o.Networks = append([]netip.Prefix(nil), o.Networks...)
		for a, b := 0, len(o.Networks)-1; a < b; a, b = a+1, b-1 {
			o.Networks[a], o.Networks[b] = o.Networks[b], o.Networks[a]
		}
		o.Contacts = append([]Contact(nil), o.Contacts...)
		for a, b := 0, len(o.Contacts)-1; a < b; a, b = a+1, b-1 {
			o.Contacts[a], o.Contacts[b] = o.Contacts[b], o.Contacts[a]
		}
		shuffled[len(orgs)-1-i] = o
	}
	var got bytes.Buffer
	if err := WriteCSV(&got, shuffled); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("the order of the input shows in the file:\n%s", lineDiff(got.String(), want.String()))
	}
	if shuffled[0].Handle != orgs[len(orgs)-1].Handle {
		t.Errorf("WriteCSV reordered its input in place")
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]Format{"orgs.csv": FormatCSV, "a/b/orgs.JSON": FormatJSON} {
		if got, err := FormatOf(name); err != nil || got != want {
			t.Errorf("FormatOf(%q) = %q, %v", name, got, err)
		}
	}
	for _, name := range []string{"orgs", "orgs.xlsx"} {
		if _, err := FormatOf(name); err == nil {
			t.Errorf("FormatOf(%q) succeeded", name)
		}
	}
}

func TestTooLarge(t *testing.T) {
	defer func(n int64) { sizeLimit = n }(sizeLimit)
	sizeLimit = 1000
	big := "handle,name\n" + strings.Repeat("x", 1000)
	if _, _, err := ReadCSV(strings.NewReader(big)); !errors.Is(err, errTooLarge) {
		t.Errorf("ReadCSV of a too large file = %v", err)
	}
	if _, _, err := ReadJSON(strings.NewReader(big)); !errors.Is(err, errTooLarge) {
		t.Errorf("ReadJSON of a too large file = %v", err)
	}
	if _, _, err := ReadCSV(strings.NewReader(big[:1000])); errors.Is(err, errTooLarge) {
		t.Errorf("ReadCSV refused a file of the limit's size")
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, name := range []string{"ok.csv", "ok-spreadsheet.csv", "errors.csv", "broken.csv", "header.csv"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orgs, _, err := ReadCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		roundTrip(t, orgs)
	})
}

func FuzzReadJSON(f *testing.F) {
	for _, name := range []string{"ok.json", "errors.json", "broken.json", "truncated.json", "trailing.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orgs, _, err := ReadJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		roundTrip(t, orgs)
	})
}

// roundTrip checks that accepted organisations survive both formats.
func roundTrip(t *testing.T, orgs []Organisation) {
	t.Helper()
	for _, format := range []Format{FormatCSV, FormatJSON} {
		var b bytes.Buffer
		if err := Write(&b, format, orgs); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		again, _, err := Read(bytes.NewReader(b.Bytes()), format)
		if err != nil {
			t.Fatalf("%s: reading what was written: %v\n%s", format, err, b.String())
		}
		if !reflect.DeepEqual(again, orgs) {
			t.Fatalf("%s: round trip changed\n%#v\ninto\n%#v", format, orgs, again)
		}
	}
}
