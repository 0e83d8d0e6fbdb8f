package shadowserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-cert/vigil/internal/pipeline"
)

// FuzzParse feeds arbitrary bytes to the parser as a scan_rdp report. It
// must never panic, and every record after the header must come out as
// exactly one event or one reject.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.csv")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("timestamp,ip,port\n2026-11-20 00:00:00,192.0.2.1,3389\n"))
	f.Add([]byte("timestamp,ip,port\n\"2026-11-20 00:00:00\",\"192.0.2.1\n\",\"33\"\"89\"\n"))
	f.Add([]byte("\xef\xbb\xbftimestamp,ip,port,hostname\r\n,,,\r\n1,::1,0,\xff\n"))
	p, err := New(DefaultSchema(), "scan_rdp")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c collector
		err := p.Parse(context.Background(), pipeline.Input{Name: "fuzz.csv", Body: bytes.NewReader(data)}, &c)
		if err != nil {
			// Only a header that cannot be used fails the whole input.
			return
		}
		want := countRecords(t, data)
		if got := len(c.events) + len(c.rejects); got != want {
			t.Fatalf("%d events + %d rejects for %d records", len(c.events), len(c.rejects), want)
		}
		for i, e := range c.events {
			if !bytes.Contains(data, e.Raw()) {
				t.Fatalf("event %d: raw is not from the input", i)
			}
			if _, ok := e.Get("time.source"); !ok {
				t.Fatalf("event %d without time.source", i)
			}
		}
		for _, r := range c.rejects {
			var re *RowError
			if !errors.As(r.reason, &re) || re.Line < 2 {
				t.Fatalf("reject reason %v does not name a data line", r.reason)
			}
		}
	})
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
