package shadowserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// twins makes TestGolden with -update write testdata/<type>.json, the JSON
// twin of testdata/<type>.csv, for every built-in report type:
//
//	go test ./internal/shadowserver -run TestGolden -update -twins
var twins = flag.Bool("twins", false, "with -update, write the JSON twin of every report type's testdata CSV")

// jsonInteger is a cell the Reports API would write as a JSON number.
var jsonInteger = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// csvToTwin writes the rows of a CSV report as the Reports API would: a
// JSON array of objects with the header's names as keys, integers as
// numbers, and an empty cell as null in even rows and left out in odd ones
// (both forms occur). A row short of cells leaves the missing keys out.
func csvToTwin(data []byte) ([]byte, error) {
	// Read as the parser reads: encoding/csv would turn a quoted cell's
	// CRLF into LF, and the twin would no longer hold the same cells.
	rr := newRecordReader(bytes.NewReader(bytes.TrimPrefix(data, utf8BOM)))
	var records [][]string
	for {
		rec, line, err := rr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(rec) == 0 {
			continue
		}
		cells, _, err := splitRecord(nil, string(rec))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		records = append(records, cells)
		if len(records) == 1 {
			rr.width = len(cells)
		}
	}
	if len(records) == 0 {
		return nil, errors.New("no header")
	}
	header := records[0]
	var out bytes.Buffer
	out.WriteString("[")
	for i, rec := range records[1:] {
		if len(rec) > len(header) {
			return nil, fmt.Errorf("row %d has %d cells, the header %d: no key for the surplus", i+2, len(rec), len(header))
		}
		if i > 0 {
			out.WriteString(",")
		}
		out.WriteString("\n{")
		first := true
		for j, cell := range rec {
			var value []byte
			switch {
			case cell == "" && i%2 == 1:
				continue
			case cell == "":
				value = []byte("null")
			case jsonInteger.MatchString(cell):
				value = []byte(cell)
			default:
				value = jsonString(cell)
			}
			if !first {
				out.WriteString(", ")
			}
			first = false
			out.Write(jsonString(header[j]))
			out.WriteString(": ")
			out.Write(value)
		}
		out.WriteString("}")
	}
	out.WriteString("\n]\n")
	return out.Bytes(), nil
}

func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// checkTwin parses testdata/<name>.json, if there is one, and holds its
// events to those of the CSV: equal but for raw and extra.file_name, raw
// being an object of the twin, and as many rejects.
func checkTwin(t *testing.T, p *Parser, name string, fromCSV *collector) {
	t.Helper()
	twin := "testdata/" + name + ".json"
	if *update && *twins {
		if _, ok := DefaultSchema().reports[name]; ok {
			data, err := os.ReadFile("testdata/" + name + ".csv")
			if err != nil {
				t.Fatal(err)
			}
			out, err := csvToTwin(data)
			if err != nil {
				t.Fatalf("%s.csv: %v", name, err)
			}
			if err := os.WriteFile(twin, out, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	data, err := os.ReadFile(twin)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	c := parseFile(t, p, twin)
	if len(c.events) != len(fromCSV.events) || len(c.rejects) != len(fromCSV.rejects) {
		for _, r := range c.rejects {
			t.Log(r.reason)
		}
		t.Fatalf("twin %s: %d events and %d rejects, the CSV %d and %d", twin, len(c.events), len(c.rejects), len(fromCSV.events), len(fromCSV.rejects))
	}
	for i, e := range c.events {
		if got, want := withoutSource(e), withoutSource(fromCSV.events[i]); got != want {
			t.Errorf("twin %s event %d differs from the CSV's:\n got %s\nwant %s", twin, i, got, want)
		}
		raw := e.Raw()
		if len(raw) == 0 || raw[0] != '{' || !bytes.Contains(data, raw) {
			t.Errorf("twin %s event %d: raw %q is not an object of the twin", twin, i, raw)
		}
		if got, want := e.Value("extra.file_name"), `"`+filepath.Base(twin)+`"`; got != want {
			t.Errorf("twin %s event %d: extra.file_name %s, want %s", twin, i, got, want)
		}
	}
}

func TestCSVToTwin(t *testing.T) {
	in := "\ufeffa,b,c\n1,,x\n007,,\"y \"\"z\"\"\r\n\"\n-3,<&>\n"
	got, err := csvToTwin([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := "[\n{\"a\": 1, \"b\": null, \"c\": \"x\"},\n{\"a\": \"007\", \"c\": \"y \\\"z\\\"\\r\\n\"},\n{\"a\": -3, \"b\": \"<&>\"}\n]\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := csvToTwin([]byte("a\n1,2\n")); err == nil || !strings.Contains(err.Error(), "surplus") {
		t.Errorf("surplus cells: %v", err)
	}
}
