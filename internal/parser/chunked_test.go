package parser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// transcript is a sink that writes down every call it gets, in order, so
// that two parses can be compared call by call. Like the runner's sink it
// can refuse the input past a number of rejects: Event then fails with
// pipeline.ErrInputRefused, and so does reading the input.
type transcript struct {
	calls       []string
	refuseAfter int // rejects admitted before the input is refused; 0 never
	rejects     int
	refused     bool
	events      int
}

func (t *transcript) add(format string, args ...any) {
	t.calls = append(t.calls, fmt.Sprintf(format, args...))
}

func (t *transcript) Event(e *event.Event) error {
	if t.refused {
		t.add("event refused")
		return pipeline.ErrInputRefused
	}
	t.events++
	t.add("event %q", event.AppendRecord(nil, e))
	return nil
}

func (t *transcript) Reject(input []byte, reason error) {
	line := 0
	var liner interface{ InputLine() int }
	if errors.As(reason, &liner) {
		line = liner.InputLine()
	}
	t.add("reject line %d %q: %v", line, input, reason)
	t.rejects++
	if t.refuseAfter > 0 && t.rejects > t.refuseAfter {
		t.refused = true
	}
}

func (t *transcript) NotData(lines int)         { t.add("not data %d", lines) }
func (t *transcript) InvalidUTF8Replaced(n int) { t.add("replaced %d", n) }

// refusingBody ends the input once its sink refused it, as the runner's
// reader does.
type refusingBody struct {
	r io.Reader
	t *transcript
}

func (b *refusingBody) Read(p []byte) (int, error) {
	if b.t.refused {
		return 0, pipeline.ErrInputRefused
	}
	return b.r.Read(p)
}

// csvTranscript parses data with the CSV parser of opts, cut in chunks as
// c says, and returns the sink's calls, the parse's error last.
func csvTranscript(t *testing.T, opts pipeline.Options, data []byte, c chunking, sink *transcript) []string {
	t.Helper()
	p, err := NewCSV(testEnv(), opts)
	if err != nil {
		t.Fatal(err)
	}
	p.chunking = c
	err = p.Parse(context.Background(), pipeline.Input{Feed: "test", Name: "input.csv", Body: &refusingBody{bytes.NewReader(data), sink}}, sink)
	return append(sink.calls, fmt.Sprintf("error: %v", err))
}

func sameCalls(t *testing.T, what string, want, got []string) {
	t.Helper()
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			t.Fatalf("%s: call %d differs:\nsequential: %.300s\nparallel:   %.300s", what, i, want[i], got[i])
		}
	}
	if len(want) != len(got) {
		t.Fatalf("%s: %d calls in sequence, %d in parallel", what, len(want), len(got))
	}
}

// TestCSVParallelMatchesSequentialOnTestdata reads every CSV golden input
// line by line and in chunks of two lines on three workers: the sink must
// get the same calls, events byte for byte.
func TestCSVParallelMatchesSequentialOnTestdata(t *testing.T) {
	inputs, err := filepath.Glob("testdata/csv/*.input")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no CSV golden inputs: %v", err)
	}
	for _, in := range inputs {
		opts := pipeline.Options{}
		if b, err := os.ReadFile(strings.TrimSuffix(in, ".input") + ".options.json"); err == nil {
			if err := json.Unmarshal(b, &opts); err != nil {
				t.Fatalf("options: %v", err)
			}
		}
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		want := csvTranscript(t, opts, data, chunking{workers: 1}, &transcript{})
		got := csvTranscript(t, opts, data, chunking{workers: 3, lines: 2}, &transcript{})
		sameCalls(t, filepath.Base(in), want, got)
	}
}

// damagedCSV is a CSV input of rows rows after a skipped line, a comment
// and the header, with bad addresses, missing columns, quotes never
// closed, comments, blank lines, invalid UTF-8 and an over-long line
// among the good rows.
func damagedCSV(rows int) []byte {
	r := rand.New(rand.NewPCG(14, 14))
	var b strings.Builder
	b.WriteString("Example report\n# a comment\nip,first_seen,port,note\n")
	for i := 1; i <= rows; i++ {
		ip := fmt.Sprintf("192.0.%d.%d", r.IntN(256), r.IntN(256))
		note := fmt.Sprintf("row %d", i)
		switch {
		case i%97 == 0:
			ip = "192.0.2.999"
		case i%101 == 0:
			b.WriteString(ip + ",2024-03-01 10:00:00\n")
			continue
		case i%103 == 0:
			note = `"never closed`
		case i%107 == 0:
			b.WriteString("# comment\n")
		case i%109 == 0:
			b.WriteString("\n")
		case i%211 == 0:
			note = "bad\xffutf-8"
		case i%1999 == 0:
			note = strings.Repeat("x", MaxLineLength+10)
		}
		fmt.Fprintf(&b, "%s,2024-03-01 10:%02d:%02d,%d,%s\n", ip, i/60%60, i%60, 1+r.IntN(65535), note)
	}
	return []byte(b.String())
}

// TestCSVParallelMatchesSequential reads a damaged CSV input of many
// chunks line by line and on 2 and 4 workers, in chunks of the default
// size and of 7 lines, with invalid UTF-8 refused and replaced, and with
// the input refused past 30 rejects: the sink gets the same calls.
func TestCSVParallelMatchesSequential(t *testing.T) {
	data := damagedCSV(5000)
	base := pipeline.Options{
		"skip_lines":      1,
		"comment":         "#",
		"columns":         map[string]any{"ip": "source.ip", "first_seen": "time.source", "port": "source.port", "note": "extra.note"},
		"constant_fields": map[string]any{"classification.type": "scanner"},
	}
	replace := pipeline.Options{"invalid_utf8": "replace"}
	for k, v := range base {
		replace[k] = v
	}
	cases := []struct {
		name string
		opts pipeline.Options
		sink func() *transcript
	}{
		{"strict text", base, func() *transcript { return &transcript{} }},
		{"invalid utf-8 replaced", replace, func() *transcript { return &transcript{} }},
		{"refused past 30 rejects", base, func() *transcript { return &transcript{refuseAfter: 30} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := csvTranscript(t, c.opts, data, chunking{workers: 1}, c.sink())
			if len(want) < 500 {
				t.Fatalf("only %d calls: the input did not parse", len(want))
			}
			for _, workers := range []int{2, 4} {
				for _, lines := range []int{0, 7} {
					got := csvTranscript(t, c.opts, data, chunking{workers: workers, lines: lines}, c.sink())
					sameCalls(t, fmt.Sprintf("%d workers, chunks of %d", workers, lines), want, got)
				}
			}
		})
	}
	// The damage must be there to be compared.
	for _, c := range []struct {
		opts pipeline.Options
		sink *transcript
		want []string
	}{
		{base, &transcript{}, []string{"reject line 100 ", "not data 1", "longer than", "quoted value not closed", "error: <nil>"}},
		{replace, &transcript{}, []string{"replaced "}},
		{base, &transcript{refuseAfter: 30}, []string{"event refused", "error: " + pipeline.ErrInputRefused.Error()}},
	} {
		joined := strings.Join(csvTranscript(t, c.opts, data, chunking{workers: 1}, c.sink), "\n")
		for _, s := range c.want {
			if !strings.Contains(joined, s) {
				t.Errorf("the transcript has no %q", s)
			}
		}
	}
}

// TestCSVParallelEndsItsWorkers stops a parallel read from the sink inside
// a synctest bubble, which fails if a goroutine of the parse is left
// blocked after Parse returns.
func TestCSVParallelEndsItsWorkers(t *testing.T) {
	data := damagedCSV(20000)
	opts := pipeline.Options{
		"columns":         map[string]any{"ip": "source.ip", "first_seen": "time.source", "port": "source.port"},
		"constant_fields": map[string]any{"classification.type": "scanner"},
		"skip_lines":      1, "comment": "#",
	}
	synctest.Test(t, func(t *testing.T) {
		sink := &transcript{refuseAfter: 50}
		got := csvTranscript(t, opts, data, chunking{workers: 4}, sink)
		if last := got[len(got)-1]; last != "error: "+pipeline.ErrInputRefused.Error() {
			t.Errorf("parse ended with %s, want the refusal", last)
		}
	})
}

// BenchmarkCSVParallel reads CSV rows on one worker and on every core
// (GOMAXPROCS, set with -cpu):
// go test ./internal/parser -run '^$' -bench CSVParallel -benchmem -cpu 2
func BenchmarkCSVParallel(b *testing.B) {
	const rows = 20000
	var buf strings.Builder
	buf.WriteString("ip,first_seen,port,note\n")
	for i := range rows {
		fmt.Fprintf(&buf, "192.0.%d.%d,2024-03-01 10:%02d:%02d,%d,\"row %d, a note\"\n", i/256%256, i%256, i/60%60, i%60, 1+i%65535, i)
	}
	data := []byte(buf.String())
	opts := pipeline.Options{
		"columns":         map[string]any{"ip": "source.ip", "first_seen": "time.source", "port": "source.port", "note": "extra.note"},
		"constant_fields": map[string]any{"classification.type": "scanner"},
	}
	for _, workers := range []int{1, 0} {
		name := "workers=1"
		if workers == 0 {
			name = "workers=GOMAXPROCS"
		}
		b.Run(name, func(b *testing.B) {
			p, err := NewCSV(testEnv(), opts)
			if err != nil {
				b.Fatal(err)
			}
			p.chunking.workers = workers
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				rec := &recorder{}
				if err := p.Parse(context.Background(), pipeline.Input{Name: "x.csv", Body: bytes.NewReader(data)}, rec); err != nil {
					b.Fatal(err)
				}
				if len(rec.events) != rows {
					b.Fatalf("%d events, %d rejects", len(rec.events), len(rec.rejects))
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// FuzzCSVParallel cuts arbitrary input into chunks of one to four lines
// read on three workers: the sink must get exactly the calls of reading
// it line by line.
func FuzzCSVParallel(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/csv/*.input")
	for _, in := range inputs {
		if data, err := os.ReadFile(in); err == nil {
			f.Add(data, uint8(1))
		}
	}
	f.Add(damagedCSV(300), uint8(3))
	opts := pipeline.Options{
		"skip_lines":      1,
		"comment":         "#",
		"columns":         map[string]any{"ip": "source.ip", "first_seen": "time.source", "port": "source.port", "note": "extra.note"},
		"constant_fields": map[string]any{"classification.type": "scanner"},
	}
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		want := csvTranscript(t, opts, data, chunking{workers: 1}, &transcript{})
		got := csvTranscript(t, opts, data, chunking{workers: 3, lines: 1 + int(size%4)}, &transcript{})
		sameCalls(t, "fuzz", want, got)
	})
}
