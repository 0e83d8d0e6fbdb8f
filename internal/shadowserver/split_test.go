package shadowserver

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// chunkLocal is the in-process transport that also carries chunks, as
// the bus does: each goes to a worker as a Batch with Chunk set, a copy
// (the Splitter reuses its buffers).
type chunkLocal struct {
	*pipeline.Local
	chunks int
}

func (c *chunkLocal) PublishChunk(ctx context.Context, ch *pipeline.Chunk) (pipeline.Pending, error) {
	cp := *ch
	cp.Head, cp.Text = bytes.Clone(ch.Head), bytes.Clone(ch.Text)
	c.chunks++
	return c.Publish(ctx, &pipeline.Batch{Feed: cp.Feed, Report: cp.Report, Run: cp.Run, Chunk: &cp})
}

// splitInput is a report with what the record reader has to decide
// about: malformed rows, a short row, a blank line, CRLF, a quoted cell
// over two lines, a quote never closed followed by good rows, a line
// over the length limit, and no line break at the end.
func splitInput(t *testing.T) string {
	t.Helper()
	malformed, err := os.ReadFile("testdata/scan_rdp-malformed.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(malformed), "\n")
	header, bad := lines[0], lines[1:12]
	unclosed := lines[12]
	tail := strings.Repeat(",", strings.Count(lines[1], ",")-8)
	n := 0
	good := func(k int) string {
		var b strings.Builder
		for range k {
			n++
			fmt.Fprintf(&b, "2026-11-20 08:%02d:%02d,high,192.0.2.%d,tcp,3389,,,,BE%s\n", n/60, n%60, n%250+1, tail)
		}
		return b.String()
	}
	return header + good(7) + strings.Join(bad, "") +
		"2026-11-20 09:00:00,high,192.0.2.200,tcp,3389,,\"one\ntwo\",,BE" + tail + "\n" +
		good(5) + unclosed + good(5) +
		strings.Repeat("x", maxRecord+10) + "\n" + good(4) + "\n" + good(6) + "2026-11-20 10:00:00,high,192.0.2.201,tcp,3389,,,,BE" + tail
}

// splitRun delivers input through a runner whose transport carries
// chunks or not, and returns the events made (as JSON lines, sorted),
// the dead letters and the feed's counters.
func splitRun(t *testing.T, input string, chunked bool) (events []string, letters []string, counters store.FeedCounters, chunks int) {
	t.Helper()
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	st := dbtest.SQLite(t)
	var mu sync.Mutex
	out := outputFunc(func(_ context.Context, b *pipeline.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range b.Events {
			events = append(events, string(e.AppendJSON(nil)))
		}
		return nil
	})
	transport := &chunkLocal{Local: pipeline.NewLocal(2)}
	var tr pipeline.Transport = transport.Local
	if chunked {
		tr = transport
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	r := pipeline.NewRunner(pipeline.RunnerConfig{
		Env:       pipeline.Env{Store: st, Now: func() time.Time { return now }},
		Transport: tr,
		Feeds:     []*pipeline.Feed{{Name: "inbox", Provider: "local", KeepRaw: true, ParserID: "shadowserver", Parser: p}},
		Outputs:   []pipeline.Output{out},
		BatchSize: 4, Workers: 2,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Work(ctx)
	if err := r.Deliver(context.Background(), pipeline.Input{Feed: "inbox", Name: "2026-11-20-scan_rdp-be.csv", Body: strings.NewReader(input)}); err != nil {
		t.Fatal(err)
	}
	dl, err := st.ListDeadLetters(context.Background(), store.DeadLetterQuery{Feed: "inbox"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range dl {
		letters = append(letters, fmt.Sprintf("%s line %d %s: %q %q", l.Parser, l.Line, l.Source, l.Error, l.Input[:min(len(l.Input), 600)]))
	}
	all, err := st.ListFeedStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name == "inbox" {
			counters.LinesRead += s.LinesRead
			counters.DeadLetters += s.DeadLetters
			counters.Warnings += s.Warnings
			counters.EventsOut += s.EventsOut
		}
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(events)
	slices.Sort(letters)
	return events, letters, counters, transport.chunks
}

// TestChunksMakeWhatParsingMakes: an input sent to the workers in chunks
// of its rows (what the bus carries) comes to the same events, the same
// dead letters (line numbers and reasons) and the same counters as the
// same input parsed where it is delivered.
func TestChunksMakeWhatParsingMakes(t *testing.T) {
	input := splitInput(t)
	events, letters, counters, _ := splitRun(t, input, false)
	chunkedRun(t, input, events, letters, counters)
}

// TestChunksKeepACarriageReturn: a row ending in a carriage return
// before its CR LF (a generator that wrote "\r\n" into a text-mode
// file) keeps that carriage return when parsed where it is delivered (a
// line loses its one line break, "\n" or "\r\n", as encoding/csv reads
// it), and so it does in chunks: its raw, and with it the event's hash,
// do not depend on the transport. One such row is in a chunk of one-line
// rows (ParseChunk takes it where it lies), one ends a quoted cell over
// two lines (the worker's Parse reads its chunk).
func TestChunksKeepACarriageReturn(t *testing.T) {
	lines := strings.SplitAfter(splitInput(t), "\n")
	if !strings.HasSuffix(lines[19], "\"one\n") {
		t.Fatalf("line 20 is %q: the input is not what the test wants", lines[19])
	}
	for _, i := range []int{2, 20} {
		lines[i] = strings.TrimSuffix(lines[i], "\n") + "\r\r\n"
	}
	input := strings.Join(lines, "")
	events, letters, counters, _ := splitRun(t, input, false)
	kept := 0
	for _, e := range events {
		if strings.Contains(e, `\r"`) {
			kept++
		}
	}
	if kept != 2 {
		t.Fatalf("parsed in place, %d events keep a carriage return at the end of a row; want 2", kept)
	}
	chunkedRun(t, input, events, letters, counters)
}

// chunkedRun runs input in chunks and checks it makes the events, dead
// letters and counters parsing it in place made.
func chunkedRun(t *testing.T, input string, events, letters []string, counters store.FeedCounters) {
	t.Helper()
	cEvents, cLetters, cCounters, chunks := splitRun(t, input, true)
	if chunks < 5 {
		t.Fatalf("the input went in %d chunks; the test wants it cut into several", chunks)
	}
	if len(events) < 30 || len(letters) < 6 {
		t.Fatalf("parsed: %d events, %d dead letters: the input is not what the test wants", len(events), len(letters))
	}
	if !slices.Equal(events, cEvents) {
		t.Errorf("events differ: parsed %d, in chunks %d", len(events), len(cEvents))
		for i := range min(len(events), len(cEvents)) {
			if events[i] != cEvents[i] {
				t.Errorf("first difference:\nparsed    %s\nin chunks %s", events[i], cEvents[i])
				break
			}
		}
	}
	if !slices.Equal(letters, cLetters) {
		t.Errorf("dead letters differ:\nparsed:\n%s\nin chunks:\n%s", strings.Join(letters, "\n"), strings.Join(cLetters, "\n"))
	}
	// Events out are counted as batches are stored; the output above
	// counts none.
	if counters != cCounters {
		t.Errorf("counters: parsed %+v, in chunks %+v", counters, cCounters)
	}
}

// TestParseChunkTakesRowsWhereTheyLie: each chunk Split cuts makes, by
// ParseChunk, what Parse makes of the chunk's input (events, rejects with
// their reasons, lines without data); a chunk whose rows are one line
// each makes events whose values are parts of the chunk's own text, not
// copies, and a chunk with a row over two lines is read as Parse reads it.
func TestParseChunkTakesRowsWhereTheyLie(t *testing.T) {
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	p.chunkRecords = 3
	var chunks []pipeline.Chunk
	var split collector
	// A row ending in a carriage return before its CRLF: the publisher's
	// reader keeps the first, and the chunk carries it so that both ways
	// of the worker's keep it too (TestChunksKeepACarriageReturn).
	lines := strings.SplitAfter(splitInput(t), "\n")
	lines[2] = strings.TrimSuffix(lines[2], "\n") + "\r\r\n"
	input := strings.Join(lines, "")
	err = p.Split(context.Background(), pipeline.Input{Feed: "test", Name: "2026-11-20-scan_rdp-be.csv", Body: strings.NewReader(input)}, &split, 4,
		func(c *pipeline.Chunk) error {
			cp := *c
			cp.Head, cp.Text = bytes.Clone(c.Head), bytes.Clone(c.Text)
			cp.Feed, cp.Name = "test", "2026-11-20-scan_rdp-be.csv" // the runner's publishChunk sets them
			chunks = append(chunks, cp)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	var inPlace, multiline int
	for i := range chunks {
		c := &chunks[i]
		var parsed, taken collector
		if err := p.Parse(context.Background(), c.Input(), &parsed); err != nil {
			t.Fatalf("chunk %d: Parse: %v", i, err)
		}
		if err := p.ParseChunk(context.Background(), c, &taken); err != nil {
			t.Fatalf("chunk %d: ParseChunk: %v", i, err)
		}
		if got, want := describe(&taken), describe(&parsed); got != want {
			t.Errorf("chunk %d (line %d):\nParseChunk made\n%s\nParse made\n%s", i, c.FirstLine, got, want)
		}
		if bytes.Count(c.Text, []byte{'\n'}) > c.Records {
			multiline++
			continue
		}
		for _, e := range taken.events {
			// The address is the row's cell as it came.
			if ip := e.Value("source.ip"); ip != "" && !within(ip, c.Text) {
				t.Errorf("chunk %d: the event of %s has values of its own, not parts of the chunk's text", i, ip)
			}
		}
		inPlace += len(taken.events)
	}
	if multiline == 0 || inPlace < 20 {
		t.Fatalf("%d chunks with a row over two lines, %d events taken in place: the input is not what the test wants", multiline, inPlace)
	}
}

// describe writes what a collector heard, one line each.
func describe(c *collector) string {
	var b strings.Builder
	fmt.Fprintf(&b, "not data: %d\n", c.notData)
	for _, e := range c.events {
		fmt.Fprintf(&b, "event %s\n", e.AppendJSON(nil))
	}
	for _, r := range c.rejects {
		fmt.Fprintf(&b, "reject %q: %v\n", r.input, r.reason)
	}
	return b.String()
}

// within reports whether s lies in the memory of b.
func within(s string, b []byte) bool {
	if len(s) == 0 || len(b) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	base := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return start >= base && start+uintptr(len(s)) <= base+uintptr(len(b))
}

// BenchmarkParseChunk reads chunks of 2,000 scan_rdp rows as a worker
// does: by Parse of each chunk's input (on GOMAXPROCS goroutines, as
// before ParseChunk) and by ParseChunk, as rows/s and the process's CPU
// time per row:
// go test ./internal/shadowserver -run '^$' -bench ParseChunk -benchmem -cpu 2 -count 5
func BenchmarkParseChunk(b *testing.B) {
	const rows, chunkRows = 20000, 2000
	var buf bytes.Buffer
	if err := Generate(&buf, "scan_rdp", rows, rand.New(rand.NewPCG(1, 1)), GenerateOptions{}); err != nil {
		b.Fatal(err)
	}
	p, err := New(DefaultSchema(), "scan_rdp")
	if err != nil {
		b.Fatal(err)
	}
	var chunks []*pipeline.Chunk
	var split discard
	err = p.Split(context.Background(), pipeline.Input{Name: "report.csv", Body: bytes.NewReader(buf.Bytes())}, &split, chunkRows,
		func(c *pipeline.Chunk) error {
			cp := *c
			cp.Head, cp.Text, cp.Name = bytes.Clone(c.Head), bytes.Clone(c.Text), "report.csv"
			chunks = append(chunks, &cp)
			return nil
		})
	if err != nil || len(chunks) != rows/chunkRows {
		b.Fatalf("%d chunks, %v", len(chunks), err)
	}
	for _, way := range []string{"parse", "in place"} {
		b.Run(way, func(b *testing.B) {
			b.SetBytes(int64(buf.Len()))
			b.ReportAllocs()
			cpu0 := cputime.Process()
			for b.Loop() {
				var d discard
				for _, c := range chunks {
					var err error
					if way == "parse" {
						err = p.Parse(context.Background(), c.Input(), &d)
					} else {
						err = p.ParseChunk(context.Background(), c, &d)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if d.events != rows {
					b.Fatalf("%d events, %d rejects", d.events, d.rejects)
				}
			}
			reportRows(b, rows, cpu0)
		})
	}
}

// TestParseChunkOfAnotherFormat: a worker whose format option says JSON
// reads a chunk as its Parse would, not as the publisher's CSV.
func TestParseChunkOfAnotherFormat(t *testing.T) {
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	p.format = formatJSON
	lines := strings.SplitAfter(splitInput(t), "\n")
	c := &pipeline.Chunk{Feed: "test", Name: "2026-11-20-scan_rdp-be.csv", Head: []byte(lines[0]), FirstLine: 1,
		Text: []byte(strings.Join(lines[1:4], "")), Records: 3}
	var parsed, taken collector
	parseErr := p.Parse(context.Background(), c.Input(), &parsed)
	takeErr := p.ParseChunk(context.Background(), c, &taken)
	if fmt.Sprint(takeErr) != fmt.Sprint(parseErr) || describe(&taken) != describe(&parsed) {
		t.Errorf("ParseChunk: %v\n%s\nParse: %v\n%s", takeErr, describe(&taken), parseErr, describe(&parsed))
	}
}

// labelledCollector is a collector that gives the parser labels, as the
// runner's sink gives each input's time.observation.
type labelledCollector struct {
	collector
	labels []event.Field
}

func (c *labelledCollector) Labels() []event.Field { return c.labels }

// TestParseChunkUnderSeveralHeads: one parser reads, in turns and on
// several goroutines, the chunks of inputs under three heads (two of one
// name, the second with its columns in another order, and one of another
// name), each chunk told labels of its own: each makes what Parse makes of
// its input, whatever head the parser read before (what ParseChunk keeps
// of a head is the head's alone), and the events' labels are the chunk's.
func TestParseChunkUnderSeveralHeads(t *testing.T) {
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	var report bytes.Buffer
	if err := Generate(&report, "scan_rdp", 40, rand.New(rand.NewPCG(1, 2)), GenerateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The same rows with their first two columns swapped.
	lines := strings.SplitAfter(report.String(), "\n")
	var swapped strings.Builder
	for _, l := range lines {
		cells := strings.SplitN(l, ",", 3)
		if len(cells) == 3 {
			l = cells[1] + "," + cells[0] + "," + cells[2]
		}
		swapped.WriteString(l)
	}
	inputs := []struct{ name, text string }{
		{"2026-11-20-scan_rdp-be.csv", report.String()},
		{"2026-11-20-scan_rdp-be.csv", swapped.String()},
		{"2026-11-21-scan_rdp-be.csv", report.String()},
	}
	var chunks [][]pipeline.Chunk
	for _, in := range inputs {
		var split collector
		var cs []pipeline.Chunk
		err := p.Split(context.Background(), pipeline.Input{Name: in.name, Body: strings.NewReader(in.text)}, &split, 7,
			func(c *pipeline.Chunk) error {
				cp := *c
				cp.Head, cp.Text, cp.Name = bytes.Clone(c.Head), bytes.Clone(c.Text), in.name
				cs = append(cs, cp)
				return nil
			})
		if err != nil || len(cs) < 5 {
			t.Fatalf("%s: %d chunks, %v", in.name, len(cs), err)
		}
		chunks = append(chunks, cs)
	}
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Go(func() {
			for k := range len(chunks[0]) {
				for i := range chunks {
					c := &chunks[(i+g)%len(chunks)][k]
					label := []event.Field{{Key: "feed.accuracy", Value: strconv.Itoa(k*10 + i)}}
					parsed, taken := &labelledCollector{labels: label}, &labelledCollector{labels: label}
					if err := p.Parse(context.Background(), c.Input(), parsed); err != nil {
						t.Errorf("Parse: %v", err)
						return
					}
					if err := p.ParseChunk(context.Background(), c, taken); err != nil {
						t.Errorf("ParseChunk: %v", err)
						return
					}
					if got, want := describe(&taken.collector), describe(&parsed.collector); got != want {
						t.Errorf("%s chunk at line %d (goroutine %d):\nParseChunk made\n%s\nParse made\n%s", c.Name, c.FirstLine, g, got, want)
						return
					}
					for _, e := range taken.events {
						if e.Value("feed.accuracy") != label[0].Value {
							t.Errorf("%s chunk at line %d: an event with the labels of another chunk: %s", c.Name, c.FirstLine, e.AppendJSON(nil))
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
}
