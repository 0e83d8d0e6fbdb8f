package export

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// csvThroughEncodingCSV is WriteCSV as encoding/csv writes it, cell by
// cell: the reference the buffered writer must match byte for byte.
func csvThroughEncodingCSV(events []store.StoredEvent, columns []string) []byte {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write(columns)
	row := make([]string, len(columns))
	for _, e := range events {
		for i, c := range columns {
			row[i] = defuse(cell(e, c))
		}
		cw.Write(row)
	}
	cw.Flush()
	return b.Bytes()
}

// trickyValues are cell texts at the edges of CSV quoting, formula
// defusing and table layout.
var trickyValues = []string{
	"", "plain", "two words", " leading space", "\tleading tab", "\u00a0no-break space first",
	"\u2003em space first", "\u0085next line first", "\vvertical tab first", "\ffeed first", "trailing space ", `\.`, `\.x`, `a\.`,
	`say "hi"`, `"`, `""`, "a,b", ",", "line\nbreak", "carriage\rreturn", "crlf\r\n", "\n",
	"=1+1", "+1", "-3.7", "-", "@SUM(A1)", "  =x", "   ", "'quoted", "=\"x,y\"", "-\n",
	"école", "日本語のテキスト", "\x00nul", "\x1b[31mred", "bad\xffutf8", "\u202eexe.txt",
	"a very long value that is wider than any table column would ever be allowed to be in a terminal",
	`"=cmd|' /C calc'!A0"`, "192.0.2.1", "2001:db8::1", "1e5", "-1e5",
}

// randomEvents makes events with random subsets of fields, harmonized
// and extra, holding tricky values.
func randomEvents(rng *rand.Rand, n int) ([]store.StoredEvent, []string) {
	keys := []string{"source.ip", "source.port", "comment", "feed.name", "classification.identifier",
		"time.source", "event_description.text", "source.fqdn", "destination.port", "tlp",
		"extra.note", "extra.count", "extra.list", "extra.a", "extra.zz"}
	events := make([]store.StoredEvent, n)
	for i := range events {
		e := event.New(len(keys))
		for _, k := range keys {
			if rng.IntN(3) == 0 {
				continue
			}
			v := trickyValues[rng.IntN(len(trickyValues))]
			if event.IsExtra(k) {
				switch rng.IntN(4) {
				case 0:
					v = string(event.AppendJSONString(nil, v))
				case 1:
					v = fmt.Sprint(rng.IntN(1000) - 500)
				case 2:
					v = `["a","b"]`
				case 3:
					v = `"broken \q escape"`
				}
			}
			if v != "" {
				e.SetTrusted(k, v)
			}
		}
		se := store.StoredEvent{Event: e}
		if rng.IntN(2) == 0 {
			se.Hash = e.Hash()
		}
		if rng.IntN(50) == 0 {
			se.Event = nil
			se.Hash = event.Hash{byte(i)}
		}
		events[i] = se
	}
	columns := append(slices.Clone(keys), HashColumn, "source.asn", "extra.none")
	return events, columns
}

func TestCSVMatchesEncodingCSV(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		events, columns := randomEvents(rng, 1+rng.IntN(40))
		rng.Shuffle(len(columns), func(i, j int) { columns[i], columns[j] = columns[j], columns[i] })
		columns = columns[:1+rng.IntN(len(columns))]
		if round%7 == 0 {
			columns = append(columns, columns[0]) // a column given twice
		}
		var b bytes.Buffer
		if err := WriteCSV(&b, Slice(events), CSVOptions{Columns: columns}); err != nil {
			t.Fatal(err)
		}
		if want := csvThroughEncodingCSV(events, columns); !bytes.Equal(b.Bytes(), want) {
			t.Fatalf("round %d, columns %q:\n got %q\nwant %q", round, columns, b.Bytes(), want)
		}
	}
	t.Run("header fields", func(t *testing.T) {
		for _, v := range trickyValues {
			columns := []string{v, "x"}
			var b bytes.Buffer
			if err := WriteCSV(&b, Slice(nil), CSVOptions{Columns: columns}); err != nil {
				t.Fatal(err)
			}
			if want := csvThroughEncodingCSV(nil, columns); !bytes.Equal(b.Bytes(), want) {
				t.Errorf("header %q: got %q, want %q", v, b.Bytes(), want)
			}
		}
	})
	t.Run("large", func(t *testing.T) {
		events, columns := randomEvents(rng, 3000)
		var b bytes.Buffer
		if err := WriteCSV(&b, Slice(events), CSVOptions{Columns: columns}); err != nil {
			t.Fatal(err)
		}
		if want := csvThroughEncodingCSV(events, columns); !bytes.Equal(b.Bytes(), want) {
			t.Fatal("a large export differs from encoding/csv's")
		}
	})
}

func TestTableMatchesTabwriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		events, columns := randomEvents(rng, rng.IntN(15))
		rng.Shuffle(len(columns), func(i, j int) { columns[i], columns[j] = columns[j], columns[i] })
		columns = columns[:rng.IntN(len(columns))]
		width := rng.IntN(20)
		var got, want bytes.Buffer
		if err := WriteTable(&got, Slice(events), TableOptions{Columns: columns, MaxWidth: width}); err != nil {
			t.Fatal(err)
		}
		if width <= 0 {
			width = 48
		}
		if err := writeTabwriter(&want, Slice(events), columns, width); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("round %d, columns %q:\n got %q\nwant %q", round, columns, got.Bytes(), want.Bytes())
		}
	}
	t.Run("no columns", func(t *testing.T) {
		events, _ := randomEvents(rng, 3)
		var got, want bytes.Buffer
		WriteTable(&got, Slice(events), TableOptions{Columns: []string{}})
		writeTabwriter(&want, Slice(events), []string{}, 48)
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("got %q, want %q", got.Bytes(), want.Bytes())
		}
	})
	// Column names that are not plain text: the bytes text/tabwriter
	// treats specially, invalid UTF-8 and the replacement character.
	t.Run("odd column names", func(t *testing.T) {
		events, _ := randomEvents(rng, 5)
		for _, name := range []string{"extra.\xff", "extra.bad\xc3", "extra.\ufffd", "extra.a\tb", "extra.a\vb", "extra.école"} {
			columns := []string{"source.ip", name, "feed.name"}
			var got, want bytes.Buffer
			if err := WriteTable(&got, Slice(events), TableOptions{Columns: columns}); err != nil {
				t.Fatal(err)
			}
			writeTabwriter(&want, Slice(events), columns, 48)
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("column %q: got %q, want %q", name, got.Bytes(), want.Bytes())
			}
		}
	})
}

func TestFieldsPresentMatchesEveryKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100 {
		events, _ := randomEvents(rng, rng.IntN(60))
		got, err := FieldsPresent(Slice(events))
		if err != nil {
			t.Fatal(err)
		}
		present := map[string]bool{}
		for _, e := range events {
			if e.Event != nil {
				for _, f := range e.Event.Fields() {
					present[f.Key] = true
				}
			}
		}
		var want []string
		for _, c := range DefaultColumns {
			if present[c] {
				want = append(want, c)
				delete(present, c)
			}
		}
		var rest []string
		for k := range present {
			rest = append(rest, k)
		}
		sort.Strings(rest)
		want = append(append(want, rest...), HashColumn)
		if !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}
