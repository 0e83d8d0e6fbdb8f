package shadowserver

import (
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestSplitRecord(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: "a,b,c", want: []string{"a", "b", "c"}},
		{in: "", want: []string{""}},
		{in: "a,,", want: []string{"a", "", ""}},
		{in: `"a,b",c`, want: []string{"a,b", "c"}},
		{in: `"say ""hi""",x`, want: []string{`say "hi"`, "x"}},
		{in: `""`, want: []string{""}},
		{in: `a,""`, want: []string{"a", ""}},
		{in: "\"two\nlines\",x", want: []string{"two\nlines", "x"}},
		{in: `5" monitor,x`, want: []string{`5" monitor`, "x"}},
		{in: `"open`, bad: true},
		{in: `"a"b,c`, bad: true},
	}
	for _, tt := range tests {
		got, _, err := splitRecord(nil, tt.in)
		if tt.bad {
			if !errors.Is(err, errBadQuote) {
				t.Errorf("%q: got %q, %v; want errBadQuote", tt.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestSplitMatchesEncodingCSV checks the hand-written splitter against the
// standard library on well-formed input.
func TestSplitMatchesEncodingCSV(t *testing.T) {
	inputs := []string{
		"a,b,c",
		`"x,y","z ""q""",`,
		`,,"",`,
		`"multi
line",end`,
		"ümlaut,日本,\"é,è\"",
	}
	for _, in := range inputs {
		r := csv.NewReader(strings.NewReader(in))
		r.FieldsPerRecord = -1
		want, err := r.Read()
		if err != nil {
			t.Fatalf("%q: encoding/csv: %v", in, err)
		}
		got, _, err := splitRecord(nil, in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %q, %v; encoding/csv %q", in, got, err, want)
		}
	}
}

func readAll(t *testing.T, in string) (recs []string, lines []int) {
	t.Helper()
	rr := newRecordReader(strings.NewReader(in))
	for {
		rec, line, err := rr.next()
		if errors.Is(err, io.EOF) {
			return recs, lines
		}
		if err != nil && !errors.Is(err, errRecordTooLong) {
			t.Fatal(err)
		}
		recs = append(recs, string(rec))
		lines = append(lines, line)
	}
}

func TestRecordReader(t *testing.T) {
	in := "h1,h2\r\na,b\n\"multi\nline\",c\nlast,no newline"
	recs, lines := readAll(t, in)
	want := []string{"h1,h2", "a,b", "\"multi\nline\",c", "last,no newline"}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("records %q, want %q", recs, want)
	}
	if !reflect.DeepEqual(lines, []int{1, 2, 3, 5}) {
		t.Errorf("lines %v, want [1 2 3 5]", lines)
	}
}

func TestRecordReaderStrayQuote(t *testing.T) {
	// A quote inside a plain cell must not join the next line.
	recs, _ := readAll(t, "a,5\" monitor,b\nc,d\n")
	if len(recs) != 2 {
		t.Errorf("got %q", recs)
	}
}

func TestRecordReaderLongLines(t *testing.T) {
	// Longer than bufio's buffer: the record is gathered in pieces.
	long := strings.Repeat("x", 200<<10)
	in := "a," + long + "\n\"" + long + "\n" + long + "\",b\nend\n"
	recs, lines := readAll(t, in)
	if len(recs) != 3 || recs[0] != "a,"+long || recs[1] != "\""+long+"\n"+long+"\",b" || recs[2] != "end" {
		t.Errorf("got %d records", len(recs))
	}
	if !reflect.DeepEqual(lines, []int{1, 2, 4}) {
		t.Errorf("lines %v", lines)
	}
}

func TestRecordReaderTooLong(t *testing.T) {
	// An unterminated quote must not make the reader hold the whole input.
	huge := strings.Repeat("y", 100) + "\n"
	in := "\"open" + strings.Repeat(huge, (maxRecord/len(huge))+10) + "after\n"
	rr := newRecordReader(strings.NewReader(in))
	rec, _, err := rr.next()
	if !errors.Is(err, errRecordTooLong) || len(rec) > maxRecord {
		t.Fatalf("got %d bytes, %v", len(rec), err)
	}
}
