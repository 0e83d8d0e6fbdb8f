package shadowserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// FuzzParse feeds arbitrary bytes to the parser as a scan_rdp report, in
// CSV or JSON as the first byte says. It must never panic, and every CSV
// record after the header, every JSON line and every element of a valid
// JSON array must come out as exactly one event or one reject.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.csv")
	twins, _ := filepath.Glob("testdata/*.json")
	for _, name := range append(files, twins...) {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`[{"timestamp":"2026-11-20 00:00:00","ip":"192.0.2.1","port":3389,"x":{"a":[1,null]}},{"timestamp":null,"ip":"192.0.2.2"}]`))
	f.Add([]byte("{\"timestamp\":\"2026-11-20 00:00:00\",\"ip\":\"192.0.2.1\",\"port\":3389}\n{\"timestamp\":\"2026-11-20 00:00:01\",\"ip\":\"192.0.2.2\",\"note\":\"\\ud800\\u0000\"}\n"))
	f.Add([]byte("[\n{\"timestamp\": \"2026-11-20 00:00:00\",\n \"ip\": \"192.0.2.1\"} {\"ip\": 1}\n]"))
	f.Add([]byte("timestamp,ip,port\n2026-11-20 00:00:00,192.0.2.1,3389\n"))
	f.Add([]byte("timestamp,ip,port\n\"2026-11-20 00:00:00\",\"192.0.2.1\n\",\"33\"\"89\"\n"))
	f.Add([]byte("\xef\xbb\xbftimestamp,ip,port,hostname\r\n,,,\r\n1,::1,0,\xff\n"))
	f.Add([]byte("timestamp,ip,port,hostname,note\n2026-11-20 00:00:00,192.0.2.1,3389,a\x00b,\xed\xa0\x80\n"))
	f.Add([]byte("timestamp,ip,port,r\xe9gion,n\x00te\n2026-11-20 00:00:00,192.0.2.1,3389,x,y\n"))
	p, err := New(DefaultSchema(), "scan_rdp")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c collector
		err := p.Parse(context.Background(), pipeline.Input{Name: "fuzz", Body: bytes.NewReader(data)}, &c)
		if err != nil {
			// Only a header that cannot be used fails the whole input.
			return
		}
		isJSON := p.formatOf("fuzz", bufio.NewReader(bytes.NewReader(data))) == formatJSON
		want, counted := 0, true
		if isJSON {
			want, counted = countJSONRecords(data)
		} else {
			want = countRecords(t, data)
		}
		if got := len(c.events) + len(c.rejects); counted && got != want {
			t.Fatalf("%d events + %d rejects for %d records (JSON %v)", len(c.events), len(c.rejects), want, isJSON)
		}
		for i, e := range c.events {
			checkStoredText(t, e)
			if !rawFromInput(data, e.Raw(), isJSON) {
				t.Fatalf("event %d: raw %q is not from the input", i, e.Raw())
			}
			if _, ok := e.Get("time.source"); !ok {
				t.Fatalf("event %d without time.source", i)
			}
		}
		for _, r := range c.rejects {
			var re *RowError
			// A JSON object may start on the first line; a CSV row
			// comes after the header.
			if first := map[bool]int{true: 1, false: 2}[isJSON]; !errors.As(r.reason, &re) || re.Line < first {
				t.Fatalf("reject reason %v does not name a data line", r.reason)
			}
		}
	})
}

// checkStoredText holds an event to the promise every stored event keeps:
// names and values are valid UTF-8 without NUL characters or surrogates
// (Go's UTF-8 decoder refuses encoded surrogates), and extra.* JSON holds
// no escaped NUL. Shadowserver's extras are written by Vigil from cells, so
// a lone surrogate escape could only come from a repaired cell: any
// \ud800-\udfff escape is refused.
var surrogateEscape = regexp.MustCompile(`\\u[dD][89a-fA-F]`)

func checkStoredText(t *testing.T, e *event.Event) {
	t.Helper()
	for _, f := range e.Fields() {
		for _, s := range []string{f.Key, f.Value} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("field %q holds invalid text: %q", f.Key, s)
			}
		}
		if strings.Contains(strings.ToLower(f.Value), `\u0000`) || surrogateEscape.MatchString(f.Value) {
			t.Fatalf("field %s holds an escaped NUL or surrogate: %s", f.Key, f.Value)
		}
	}
}

// countRecords counts the non-blank records after the header line.
func countRecords(t *testing.T, data []byte) int {
	rr := newRecordReader(bytes.NewReader(data))
	n, header := 0, false
	for {
		rec, _, err := rr.next()
		if errors.Is(err, io.EOF) {
			return n
		}
		var tooLong *lineTooLongError
		if err != nil && !errors.Is(err, errUnclosedQuote) && !errors.As(err, &tooLong) {
			t.Fatal(err)
		}
		if !header {
			if rec = bytes.TrimPrefix(rec, utf8BOM); len(bytes.TrimSpace(rec)) > 0 {
				header = true
				cells, _, _ := splitRecord(nil, string(rec))
				rr.width = len(cells)
			}
			continue
		}
		if len(rec) > 0 {
			n++
		}
	}
}

// countJSONRecords counts what a JSON report holds, where that can be told
// without the parser: the non-blank lines of JSON lines, the elements of an
// array that is valid JSON. counted is false for a broken array.
func countJSONRecords(data []byte) (n int, counted bool) {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, utf8BOM), jsonSpace)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var elems []json.RawMessage
		if err := json.Unmarshal(trimmed, &elems); err != nil {
			return 0, false
		}
		return len(elems), true
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if i == 0 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if len(bytes.Trim(line, jsonSpace)) > 0 {
			n++
		}
	}
	return n, true
}

// rawFromInput reports whether raw is text of data: a JSON object as it
// is, a CSV row under its header (the header, a newline, the row), each
// part from data.
func rawFromInput(data, raw []byte, isJSON bool) bool {
	if isJSON {
		return bytes.Contains(data, raw)
	}
	for i, c := range raw {
		if c == '\n' && bytes.Contains(data, raw[:i]) && bytes.Contains(data, raw[i+1:]) {
			return true
		}
	}
	return false
}
