package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/shadowserver"
	"github.com/vigil-cert/vigil/internal/store"
)

// junkParser rejects every line, naming it, as a parser fed the wrong
// format does.
type junkParser struct{}

func (junkParser) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	lines := lineSplitter{r: in.Body}
	for n := 1; ; n++ {
		line, err := lines.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		sink.Reject(line, &pipeline.LineError{Line: n, Err: fmt.Errorf("not an event")})
	}
}

// lineSplitter reads lines of any length without bufio.Scanner's limit.
type lineSplitter struct {
	r   io.Reader
	buf []byte
	eof bool
}

func (l *lineSplitter) next() ([]byte, error) {
	for {
		if i := bytes.IndexByte(l.buf, '\n'); i >= 0 {
			line := bytes.Clone(l.buf[:i])
			l.buf = l.buf[i+1:]
			return line, nil
		}
		if l.eof {
			if len(l.buf) == 0 {
				return nil, io.EOF
			}
			line := l.buf
			l.buf = nil
			return line, nil
		}
		chunk := make([]byte, 64<<10)
		n, err := l.r.Read(chunk)
		l.buf = append(l.buf, chunk[:n]...)
		if err == io.EOF {
			l.eof = true
		} else if err != nil {
			return nil, err
		}
	}
}

// watchedStore records the largest batch of dead letters written, and the
// heap in use at each write, when rejects are held in memory the longest.
type watchedStore struct {
	store.Store
	mu          sync.Mutex
	maxLetters  int
	maxBytes    int
	maxHeap     uint64
	totalBytes  int64
	totalLetter int
}

func (w *watchedStore) RecordDeadLetters(ctx context.Context, letters []store.DeadLetter) (int64, error) {
	size := 0
	for _, l := range letters {
		size += len(l.Input) + len(l.Error)
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	w.mu.Lock()
	w.maxLetters = max(w.maxLetters, len(letters))
	w.maxBytes = max(w.maxBytes, size)
	w.maxHeap = max(w.maxHeap, m.HeapInuse)
	w.totalBytes += int64(size)
	w.totalLetter += len(letters)
	w.mu.Unlock()
	return w.Store.RecordDeadLetters(ctx, letters)
}

func newLimitedRunner(t *testing.T, st store.Store, parserID string, parser pipeline.Parser, limits pipeline.DeadLetterLimits) *pipeline.Runner {
	t.Helper()
	return startRunner(t, pipeline.RunnerConfig{
		Env:       pipeline.Env{Store: st, Now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }},
		Transport: pipeline.NewLocal(2),
		Feeds:     []*pipeline.Feed{{Name: "test", ParserID: parserID, Parser: parser}},
		Outputs:   []pipeline.Output{storeOutput{st}}, BatchSize: 100, Workers: 2,
		DeadLetters: limits,
	})
}

// startRunner makes a runner of cfg and runs its workers until the test
// ends.
func startRunner(t *testing.T, cfg pipeline.RunnerConfig) *pipeline.Runner {
	t.Helper()
	r := pipeline.NewRunner(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go r.Work(ctx)
	return r
}

func allLetters(t *testing.T, st store.Store) []store.DeadLetter {
	t.Helper()
	var all []store.DeadLetter
	q := store.DeadLetterQuery{Limit: 1000}
	for {
		page, err := st.ListDeadLetters(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < q.Limit {
			return all
		}
		q.BeforeID = page[len(page)-1].ID
	}
}

// TestJunkInputIsRefusedAfterTheLimit is finding 4 of issue 8: 500,000
// junk lines became 500,000 dead letters. Now the first 1,000 are kept and
// the rest of the input is one letter that says how much was not read and
// which setting to raise.
func TestJunkInputIsRefusedAfterTheLimit(t *testing.T) {
	ctx := context.Background()
	st := &watchedStore{Store: openStore(t)}
	r := newLimitedRunner(t, st, "junk", junkParser{}, pipeline.DeadLetterLimits{})
	input := strings.Repeat("\x1f\x8b junk that is no event\n", 500000)
	d, err := r.DeliverReport(ctx, pipeline.Input{Feed: "test", Name: "junk.txt", Body: strings.NewReader(input)})
	if err != nil {
		t.Fatal(err)
	}
	letters := allLetters(t, st)
	if len(letters) != 1001 || d.DeadLetters != 1001 {
		t.Fatalf("%d dead letters (reported %d), want 1,000 and the refusal", len(letters), d.DeadLetters)
	}
	refusal := letters[0] // the newest
	for _, want := range []string{"1000 dead letters", "pipeline.dead_letters.max_per_input", "line 1001 ", "(499000 lines)"} {
		if !strings.Contains(refusal.Error, want) {
			t.Errorf("refusal %q does not say %q", refusal.Error, want)
		}
	}
	if refusal.Parser != pipeline.RefusedParser || refusal.Source != "junk.txt" || d.Refused == "" {
		t.Errorf("refusal letter %+v, delivery %+v", refusal, d)
	}
	s := feedStatus(t, st)
	if s.DeadLetters != 1001 || !strings.Contains(s.LastError, "junk.txt: input refused") || s.LinesRead != 1000 {
		t.Errorf("feed status %+v: want 1001 dead letters, 1000 lines read and the refusal as the last error", s)
	}
	if st.maxLetters > 256 {
		t.Errorf("a write of %d dead letters; rejects must be written in bounded batches", st.maxLetters)
	}

	t.Run("the refusal cannot be re-run from its letter", func(t *testing.T) {
		n, err := r.RetryDeadLetters(ctx, []int64{refusal.ID})
		if err != nil || n != 0 {
			t.Fatalf("retry: %d, %v", n, err)
		}
	})
}

func TestDeadLetterByteLimit(t *testing.T) {
	st := &watchedStore{Store: openStore(t)}
	r := newLimitedRunner(t, st, "junk", junkParser{}, pipeline.DeadLetterLimits{MaxLetters: 1000000, MaxBytes: 100 << 10})
	line := strings.Repeat("x", 1000) + "\n"
	if err := r.Deliver(context.Background(), pipeline.Input{Feed: "test", Name: "big.txt", Body: strings.NewReader(strings.Repeat(line, 1000))}); err != nil {
		t.Fatal(err)
	}
	if st.totalBytes > 100<<10+8<<10 {
		t.Errorf("%d bytes of dead letters, the limit is %d", st.totalBytes, 100<<10)
	}
	letters := allLetters(t, st)
	if !strings.Contains(letters[0].Error, "pipeline.dead_letters.max_bytes_per_input") {
		t.Errorf("refusal %q does not name the byte limit", letters[0].Error)
	}
	if len(letters) < 90 || len(letters) > 102 {
		t.Errorf("%d letters of about 1 KB under a limit of 100 KiB", len(letters))
	}
}

// hugeLines streams a Shadowserver report whose rows are each size bytes
// of one unterminated quoted cell, without holding it.
type hugeLines struct {
	header    string
	rows      int
	size      int
	row, done int
}

func (h *hugeLines) Read(p []byte) (int, error) {
	if h.header != "" {
		n := copy(p, h.header)
		h.header = h.header[n:]
		return n, nil
	}
	if h.row == h.rows {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && h.row < h.rows {
		switch {
		case h.done == 0:
			p[n] = '"'
		case h.done == h.size-1:
			p[n] = '\n'
		default:
			p[n] = 'A' + byte(h.done%26)
		}
		n++
		h.done++
		if h.done == h.size {
			h.done = 0
			h.row++
		}
	}
	return n, nil
}

// TestOversizedLinesKeepMemoryFlat: 240 lines of 4.4 MB became a 1 GB
// database with 1.4 GB peak memory, each line kept whole (up to 4 MiB) and
// buffered 1,000 letters at a time. Now each is a letter of its first
// bytes with its length, and the rejects in memory stay small.
func TestOversizedLinesKeepMemoryFlat(t *testing.T) {
	p, err := shadowserver.New(shadowserver.DefaultSchema(), "scan_rdp")
	if err != nil {
		t.Fatal(err)
	}
	st := &watchedStore{Store: openStore(t)}
	r := newLimitedRunner(t, st, "shadowserver", p, pipeline.DeadLetterLimits{})
	const rows, size = 24, 4400000
	runtime.GC()
	in := &hugeLines{header: "timestamp,ip,port\n", rows: rows, size: size}
	if err := r.Deliver(context.Background(), pipeline.Input{Feed: "test", Name: "scan_rdp.csv", Body: in}); err != nil {
		t.Fatal(err)
	}
	letters := allLetters(t, st)
	if len(letters) != rows {
		t.Fatalf("%d letters for %d over-long rows", len(letters), rows)
	}
	for _, l := range letters {
		if len(l.Input) > 8<<10 || !strings.Contains(l.Error, fmt.Sprint(size-1)) {
			t.Fatalf("letter of %d bytes, reason %q: want the first bytes and the line's length %d", len(l.Input), l.Error, size-1)
		}
	}
	if st.totalBytes > 1<<20 {
		t.Errorf("%d bytes of dead letters for %d rows", st.totalBytes, rows)
	}
	// Generous: the point is that it does not grow with the input (211 MB).
	if st.maxHeap > 64<<20 {
		t.Errorf("%d MiB of heap in use while writing dead letters", st.maxHeap>>20)
	}
}

// aheadParser reads its whole input before it hands anything on, as a
// parser reading ahead in chunks may: it rejects every data line and says
// of every "#" line that it carries no data, with a warning.
type aheadParser struct{}

func (aheadParser) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return err
	}
	for n, line := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			pipeline.NotData(sink, 1)
			if w, ok := sink.(pipeline.ReportKeeper); ok {
				w.Warn(errors.New("odd comment"))
			}
			continue
		}
		sink.Reject([]byte(line), &pipeline.LineError{Line: n + 1, Err: fmt.Errorf("not an event")})
	}
	return nil
}

// TestNothingCountedPastARefusal: what a parser reading ahead says of the
// lines past a refusal (no data, a warning) is not counted, since those
// lines are counted as not read: the lines read are those up to the
// refusal, and no warning is counted for a line never read.
func TestNothingCountedPastARefusal(t *testing.T) {
	st := openStore(t)
	r := newLimitedRunner(t, st, "ahead", aheadParser{}, pipeline.DeadLetterLimits{MaxLetters: 2, MaxBytes: 1 << 20})
	body := "a\nb\nc\n# x\n# y\nd\n"
	if err := r.Deliver(context.Background(), pipeline.Input{Feed: "test", Name: "ahead.txt", Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	s := feedStatus(t, st)
	if s.Warnings != 0 {
		t.Errorf("warnings = %d, want 0: the comment lines come after the refusal", s.Warnings)
	}
	if s.LinesRead != 2 {
		t.Errorf("lines read = %d, want the 2 lines before the refusal", s.LinesRead)
	}
}
