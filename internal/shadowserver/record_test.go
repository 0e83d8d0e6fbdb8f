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
		var tooLong *lineTooLongError
		if err != nil && !errors.Is(err, errUnclosedQuote) && !errors.As(err, &tooLong) {
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
	// A line over the limit is consumed whole, kept as its first bytes
	// with its length, and the next line is read normally.
	long := strings.Repeat("y", maxRecord+100)
	rr := newRecordReader(strings.NewReader("a,b\n" + long + "\r\nc,d\n"))
	rr.next()
	rec, line, err := rr.next()
	var tooLong *lineTooLongError
	if !errors.As(err, &tooLong) || len(rec) != rejectPrefix || line != 2 || tooLong.Length != int64(len(long)) {
		t.Fatalf("got %d bytes of line %d, %v", len(rec), line, err)
	}
	if rec, line, err := rr.next(); err != nil || string(rec) != "c,d" || line != 3 {
		t.Fatalf("after the long line: %q line %d, %v", rec, line, err)
	}
}

// TestRecordReaderUnclosedQuote is finding 3 of issue 8: a quote opened by
// damage must cost its own line only, whatever follows.
func TestRecordReaderUnclosedQuote(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		records []string
		lines   []int
		bad     []int // indexes of the records that come with errUnclosedQuote
	}{
		{
			name:    "next line is a row",
			in:      "h1,h2,h3\na,\"open,c\nd,e,f\ng,h,i\n",
			records: []string{"h1,h2,h3", "a,\"open,c", "d,e,f", "g,h,i"},
			lines:   []int{1, 2, 3, 4},
			bad:     []int{1},
		},
		{
			name:    "quoted rows follow",
			in:      "h1,h2,h3\n\"a\",\"open,c\n\"d\",\"e\",\"f\"\n",
			records: []string{"h1,h2,h3", "\"a\",\"open,c", "\"d\",\"e\",\"f\""},
			lines:   []int{1, 2, 3},
			bad:     []int{1},
		},
		{
			name:    "legitimate line break in a cell",
			in:      "h1,h2,h3\na,\"-----BEGIN\nMIIB\n-----END\",c\nd,e,f\n",
			records: []string{"h1,h2,h3", "a,\"-----BEGIN\nMIIB\n-----END\",c", "d,e,f"},
			lines:   []int{1, 2, 5},
		},
		{
			name:    "junk between the bad line and the next row is read on its own",
			in:      "h1,h2,h3\na,\"open\njunk\nd,e,f\n",
			records: []string{"h1,h2,h3", "a,\"open", "junk", "d,e,f"},
			lines:   []int{1, 2, 3, 4},
			bad:     []int{1},
		},
		{
			name:    "input ends inside the quote",
			in:      "h1,h2,h3\na,b,c\nd,\"open\nmore",
			records: []string{"h1,h2,h3", "a,b,c", "d,\"open", "more"},
			lines:   []int{1, 2, 3, 4},
			bad:     []int{2},
		},
		{
			name:    "two bad lines in a row",
			in:      "h1,h2,h3\n\"x\n\"y,z\nd,e,f\n",
			records: []string{"h1,h2,h3", "\"x\n\"y,z", "d,e,f"},
			lines:   []int{1, 2, 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := newRecordReader(strings.NewReader(tt.in))
			var recs []string
			var lines, bad []int
			for i := 0; ; i++ {
				rec, line, err := rr.next()
				if errors.Is(err, io.EOF) {
					break
				}
				if i == 0 {
					rr.width = 3
				}
				if errors.Is(err, errUnclosedQuote) {
					bad = append(bad, i)
				} else if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, string(rec))
				lines = append(lines, line)
			}
			if !reflect.DeepEqual(recs, tt.records) || !reflect.DeepEqual(lines, tt.lines) || !reflect.DeepEqual(bad, tt.bad) {
				t.Errorf("records %q at lines %v, bad %v\nwant    %q at lines %v, bad %v", recs, lines, bad, tt.records, tt.lines, tt.bad)
			}
		})
	}
}

func TestRecordReaderQuoteBounded(t *testing.T) {
	// Without rows to end it, an open quote still ends after maxRecordLines
	// lines, and the lines after the bad one are read again.
	in := "\"open\n" + strings.Repeat("x\n", maxRecordLines+5)
	rr := newRecordReader(strings.NewReader(in))
	rec, _, err := rr.next()
	if !errors.Is(err, errUnclosedQuote) || string(rec) != "\"open" {
		t.Fatalf("got %q, %v", rec, err)
	}
	n := 0
	for {
		rec, _, err := rr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || string(rec) != "x" {
			t.Fatalf("got %q, %v", rec, err)
		}
		n++
	}
	if n != maxRecordLines+5 {
		t.Fatalf("%d lines read again, want %d", n, maxRecordLines+5)
	}
}
