package shadowserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/parser/chunks"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// transcript is a sink that writes down every call it gets, in order, so
// that two parses can be compared call by call. Like the runner's sink it
// can refuse an input past a number of rejects (Event then fails with
// pipeline.ErrInputRefused, and so does reading the input), or fail Event
// after a number of events.
type transcript struct {
	calls []string
	// refuseAfter is the rejects admitted before the input is refused;
	// 0 never refuses.
	refuseAfter int
	rejects     int
	refused     bool
	// stopAfter is the events taken before Event fails with errStop (or
	// calls cancel, when set); 0 never stops.
	stopAfter int
	cancel    func()
	events    int
}

func (t *transcript) add(format string, args ...any) {
	t.calls = append(t.calls, fmt.Sprintf(format, args...))
}

func (t *transcript) Event(e *event.Event) error {
	if t.refused {
		t.add("event refused")
		return pipeline.ErrInputRefused
	}
	if t.stopAfter > 0 && t.events == t.stopAfter {
		if t.cancel != nil {
			t.cancel()
		} else {
			t.add("event stopped")
			return errStop
		}
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

func (t *transcript) Warn(reason error)         { t.add("warn %v", reason) }
func (t *transcript) Report(name string)        { t.add("report %s", name) }
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

// parseTranscript parses data with workers goroutines in chunks of
// chunkRecords records and returns the sink's transcript, the parse's
// error last.
func parseTranscript(t *testing.T, p Parser, name string, data []byte, workers, chunkRecords int, sink *transcript) []string {
	t.Helper()
	p.workers, p.chunkRecords = workers, chunkRecords
	err := p.Parse(context.Background(), pipeline.Input{Name: name, Body: &refusingBody{bytes.NewReader(data), sink}}, sink)
	return append(sink.calls, fmt.Sprintf("error: %v", err))
}

// sameCalls fails the test at the first call in which got and want differ.
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

// TestParallelMatchesSequentialOnTestdata parses every Shadowserver test
// input row by row and in chunks of two records on three workers: the
// sink must get the same calls, events byte for byte.
func TestParallelMatchesSequentialOnTestdata(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.csv")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(in)
		want := parseTranscript(t, *p, name, data, 1, 0, &transcript{})
		got := parseTranscript(t, *p, name, data, 3, 2, &transcript{})
		sameCalls(t, name, want, got)
	}
}

// damagedReport is a scan_rdp report of rows rows with, among good rows,
// every kind of row the reader and the parser treat apart: bad required
// values, ragged rows, quotes never closed, quoted cells over several
// lines, blank lines, invalid UTF-8, NUL and an over-long line.
func damagedReport(t *testing.T, rows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Generate(&buf, "scan_rdp", rows, rand.New(rand.NewPCG(14, 14)), GenerateOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(buf.String(), "\n")
	for i := 1; i < len(lines)-1; i++ {
		cells := strings.Split(strings.TrimSuffix(lines[i], "\n"), ",")
		switch {
		case i%97 == 0:
			cells[2] = "192.0.2.999" // ip: a required value that is wrong
		case i%101 == 0:
			cells = cells[:len(cells)-3] // short of trailing cells: a warning
		case i%103 == 0:
			cells = append(cells, "", "") // surplus empty cells: a warning
		case i%107 == 0:
			cells = append(cells, "surplus") // surplus with text: a reject
		case i%211 == 0:
			cells[4] = `"` + cells[4] // a quote never closed
		case i%307 == 0:
			cells[17] = "\"CN=multi\nline, \"\"quoted\"\"\n\"" // a cell over three lines
		case i%401 == 0:
			cells[18] = "bad\xffutf-8"
		case i%409 == 0:
			cells[5] = "nul\x00byte"
		case i%499 == 0:
			cells = nil // a blank line
		case i%503 == 0:
			cells[0] = "" // required time missing
		case i%1999 == 0:
			cells[17] = strings.Repeat("x", maxRecord+10) // over the line limit
		case i%211 == 1:
			cells[7] = "AS64500" // an optional value kept as extra.asn
		}
		lines[i] = strings.Join(cells, ",") + "\n"
	}
	return []byte(strings.Join(lines, ""))
}

// TestParallelMatchesSequential parses a damaged report of many chunks
// sequentially and with 2 and 4 workers, in chunks of the default size
// and of 7 records: the sink gets the same calls in the same order, with
// the same lines in the rejects, and Parse the same error; also when the
// sink refuses the input past a dead-letter limit or stops taking events.
func TestParallelMatchesSequential(t *testing.T) {
	data := damagedReport(t, 5000)
	name := "2026-11-20-scan_rdp-belgium-geo.csv"
	strict, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	lenient := *strict
	lenient.text.ReplaceInvalidUTF8 = true
	cases := []struct {
		name string
		p    Parser
		sink func() *transcript
	}{
		{"strict text", *strict, func() *transcript { return &transcript{} }},
		{"invalid utf-8 replaced", lenient, func() *transcript { return &transcript{} }},
		{"refused past 30 rejects", *strict, func() *transcript { return &transcript{refuseAfter: 30} }},
		{"sink stops after 2345 events", *strict, func() *transcript { return &transcript{stopAfter: 2345} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := parseTranscript(t, c.p, name, data, 1, 0, c.sink())
			if len(want) < 1000 {
				t.Fatalf("only %d calls: the input did not parse", len(want))
			}
			for _, workers := range []int{2, 4} {
				for _, size := range []int{0, 7} {
					got := parseTranscript(t, c.p, name, data, workers, size, c.sink())
					sameCalls(t, fmt.Sprintf("%d workers, chunks of %d", workers, size), want, got)
				}
			}
		})
	}
	// The damage must be there to be compared: rejects with their lines,
	// warnings, repairs and a refusal.
	for _, c := range []struct {
		sink *transcript
		want []string
	}{
		{&transcript{}, []string{"reject line 98 ", "quoted cell not closed", "over the limit", "warn line 102:", "warn line 104:",
			"reject line 108 ", "replaced ", "CN=multi", "required value missing", "error: <nil>"}},
		{&transcript{refuseAfter: 30}, []string{"event refused", "error: shadowserver scan_rdp \"" + name + "\" line "}},
		{&transcript{stopAfter: 2345}, []string{"event stopped", "error: shadowserver scan_rdp \"" + name + "\" line "}},
	} {
		joined := strings.Join(parseTranscript(t, lenient, name, data, 1, 0, c.sink), "\n")
		for _, s := range c.want {
			if !strings.Contains(joined, s) {
				t.Errorf("the transcript has no %q", s)
			}
		}
	}
}

// TestParallelParseEndsItsWorkers stops a parallel parse from the sink
// (an error, as when the input is refused, and the context cancelled)
// inside a synctest bubble, which fails if any goroutine of the parse is
// left blocked after Parse returns.
func TestParallelParseEndsItsWorkers(t *testing.T) {
	data := damagedReport(t, 20000)
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	p.workers = 4
	in := func() pipeline.Input {
		return pipeline.Input{Name: "2026-11-20-scan_rdp-belgium-geo.csv", Body: bytes.NewReader(data)}
	}
	t.Run("sink error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &transcript{stopAfter: 1000}
			if err := p.Parse(context.Background(), in(), sink); !errors.Is(err, errStop) {
				t.Fatalf("got %v, want errStop", err)
			}
			if sink.events != 1000 {
				t.Errorf("%d events, want 1000", sink.events)
			}
		})
	})
	t.Run("refused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &transcript{refuseAfter: 10}
			err := p.Parse(context.Background(), pipeline.Input{Name: in().Name, Body: &refusingBody{bytes.NewReader(data), sink}}, sink)
			if !errors.Is(err, pipeline.ErrInputRefused) {
				t.Fatalf("got %v, want ErrInputRefused", err)
			}
		})
	})
	t.Run("cancelled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sink := &transcript{stopAfter: 1000, cancel: cancel}
			if err := p.Parse(ctx, in(), sink); !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			// Cancelling stops at the next chunk: the one being handed on
			// is finished, no more.
			if sink.events >= 1000+2*chunks.ChunkRecords {
				t.Errorf("%d events after cancelling at 1000", sink.events)
			}
		})
	})
}

// FuzzParallelParse cuts arbitrary input into chunks of one to four
// records parsed on three workers: the sink must get exactly the calls
// of reading it row by row.
func FuzzParallelParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.csv")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data, uint8(1))
		}
	}
	f.Add([]byte("timestamp,ip,port\n2026-11-20 00:00:00,192.0.2.1,3389\n\n2026-11-20 00:00:01,192.0.2.2,3389\n"), uint8(0))
	f.Add([]byte("timestamp,ip,port\n\"2026-11-20 00:00:00\",\"192.0.2.1\n\",\"33\"\"89\"\n2026-11-20 00:00:00,192.0.2.1,1,2\n"), uint8(2))
	f.Add([]byte("timestamp,ip,port,note\n2026-11-20 00:00:00,192.0.2.1,3389,\"a\nb\"\n\"2026-11-20 00:00:00,192.0.2.1,3389,x\n2026-11-20 00:00:00,192.0.2.1\n"), uint8(3))
	p, err := New(DefaultSchema(), "scan_rdp")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		want := parseTranscript(t, *p, "fuzz.csv", data, 1, 0, &transcript{})
		got := parseTranscript(t, *p, "fuzz.csv", data, 3, 1+int(size%4), &transcript{})
		sameCalls(t, "fuzz", want, got)
	})
}

// BenchmarkParseParallel reads scan_rdp rows on one worker and on every
// core (GOMAXPROCS, set with -cpu), as rows/s and CPU time per row:
// go test ./internal/shadowserver -run '^$' -bench ParseParallel -benchmem -cpu 2
func BenchmarkParseParallel(b *testing.B) {
	const rows = 20000
	var buf bytes.Buffer
	if err := Generate(&buf, "scan_rdp", rows, rand.New(rand.NewPCG(1, 1)), GenerateOptions{}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	for _, workers := range []int{1, 0} {
		name := "workers=1"
		if workers == 0 {
			name = "workers=GOMAXPROCS"
		}
		b.Run(name, func(b *testing.B) {
			p, err := New(DefaultSchema(), "scan_rdp")
			if err != nil {
				b.Fatal(err)
			}
			p.workers = workers
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu0 := cputime.Process()
			b.ResetTimer()
			for b.Loop() {
				var d discard
				if err := p.Parse(context.Background(), pipeline.Input{Name: "report.csv", Body: bytes.NewReader(data)}, &d); err != nil {
					b.Fatal(err)
				}
				if d.events != rows {
					b.Fatalf("%d events, %d rejects", d.events, d.rejects)
				}
			}
			reportRows(b, rows, cpu0)
		})
	}
}

// TestRejectCarriesTheHeaderLine: a dead letter is the header line, a
// newline and the row; a plan without a header line still starts it
// with the newline, so that its row is the second line either way.
func TestRejectCarriesTheHeaderLine(t *testing.T) {
	for _, tt := range []struct {
		name, rawHead, want string
	}{
		{"header line", "ip,port\n", "ip,port\n192.0.2.1,x"},
		{"no header line", "", "\n192.0.2.1,x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &csvRows{plan: &plan{rawHead: tt.rawHead}}
			reason := errors.New("bad port")
			o := r.reject(chunks.Result{}, []byte("192.0.2.1,x"), reason)
			if string(o.Reject) != tt.want || o.Reason != reason {
				t.Errorf("letter %q (%v), want %q (%v)", o.Reject, o.Reason, tt.want, reason)
			}
		})
	}
}

// reportRows reports a benchmark's rows a second and CPU nanoseconds a
// row, rows being what one iteration reads and cpu0 the process's CPU
// time when the timing began.
func reportRows(b *testing.B, rows int, cpu0 time.Duration) {
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	if cpu := cputime.Process() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(rows*b.N), "cpu-ns/row")
	}
}
