package chunks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/vigil-cert/vigil/internal/event"
)

// callSink writes down the sink calls it hears, in order.
type callSink struct {
	calls  []string
	refuse bool // Event fails
}

var errRefused = errors.New("refused")

func (s *callSink) Event(e *event.Event) error {
	s.calls = append(s.calls, "event "+string(e.Raw()))
	if s.refuse {
		return errRefused
	}
	return nil
}
func (s *callSink) Reject(input []byte, reason error) {
	s.calls = append(s.calls, fmt.Sprintf("reject %s: %v", input, reason))
}
func (s *callSink) Report(string)     {}
func (s *callSink) Warn(reason error) { s.calls = append(s.calls, fmt.Sprintf("warn %v", reason)) }
func (s *callSink) NotData(lines int) { s.calls = append(s.calls, fmt.Sprintf("not data %d", lines)) }

var errTooLong = errors.New("too long")

// lineRecords is a Records over lines: "" is blank, "bad" a reject,
// "long" comes with the reader's complaint, "warn" warns, "#" lines carry
// no data (counted on the next record), "fatal" ends the input, and
// "fail" is a read that fails.
func lineRecords(lines []string, workers, size int, sink *callSink) Records {
	next := 0
	return Records{
		Options:    Options{Workers: workers},
		MaxRecords: size,
		Next: func() ([]byte, int, error) {
			if next == len(lines) {
				return nil, next, io.EOF
			}
			next++
			switch l := lines[next-1]; l {
			case "long":
				return []byte(l), next, errTooLong
			case "fail":
				return nil, next, fmt.Errorf("line %d: read failed", next)
			default:
				return []byte(l), next, nil
			}
		},
		Kept: func(err error) bool { return errors.Is(err, errTooLong) },
		NewWorker: func() func([]byte, int, error) Result {
			return func(rec []byte, line int, err error) Result {
				r := Result{Line: line}
				switch l := string(rec); {
				case err != nil:
					r.Reject, r.Reason = []byte(l), err
				case l == "#":
					// A line without data says so in its own result, as the
					// parsers' workers do: a count carried to a worker's next
					// record would land wherever that worker's next chunk is.
					r.NotData = 1
				case l == "":
				case l == "bad":
					r.Reject, r.Reason = []byte(l), errors.New("bad")
				case l == "fatal":
					r.Fatal = fmt.Errorf("line %d: fatal", line)
				case l == "warn":
					r.Warn = fmt.Errorf("line %d: odd", line)
					fallthrough
				default:
					e := event.New(1)
					e.SetRaw(rec)
					r.Event = e
					if strings.Contains(l, "?") {
						r.ReplacedBytes, r.Replaced = strings.Count(l, "?"), true
					}
				}
				return r
			}
		},
		Sink: sink,
		EventError: func(line int, err error) error {
			return fmt.Errorf("line %d: %w", line, err)
		},
	}
}

func TestRecordsDeliverInOrder(t *testing.T) {
	lines := []string{"a", "#", "#", "b?", "", "bad", "long", "warn", "c??"}
	for i := range 40 {
		lines = append(lines, fmt.Sprintf("x%d", i))
	}
	want := []string{"event a", "not data 1", "not data 1", "event b?", "reject bad: bad", "reject long: too long",
		"warn line 8: odd", "event warn", "event c??"}
	for i := range 40 {
		want = append(want, fmt.Sprintf("event x%d", i))
	}
	for _, workers := range []int{1, 3} {
		for _, size := range []int{1, 2, 7, 0} {
			sink := &callSink{}
			repairs, err := lineRecords(lines, workers, size, sink).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sink.calls, want) {
				t.Errorf("%d workers, chunks of %d: heard\n%q\nwant\n%q", workers, size, sink.calls, want)
			}
			if repairs != (Repairs{Bytes: 3, Records: 2}) {
				t.Errorf("%d workers, chunks of %d: repairs %+v", workers, size, repairs)
			}
		}
	}
}

func TestRecordsErrors(t *testing.T) {
	for _, c := range []struct {
		lines  []string
		refuse bool
		want   string
		heard  int
	}{
		{lines: []string{"a", "fatal", "b"}, want: "line 2: fatal", heard: 1},
		{lines: []string{"a", "b", "fail", "c"}, want: "line 3: read failed", heard: 2},
		{lines: []string{"bad", "a", "b"}, refuse: true, want: "line 2: refused", heard: 2},
	} {
		for _, workers := range []int{1, 2} {
			sink := &callSink{refuse: c.refuse}
			_, err := lineRecords(c.lines, workers, 1, sink).Run(context.Background())
			if err == nil || err.Error() != c.want {
				t.Errorf("%q, %d workers: got %v, want %s", c.lines, workers, err, c.want)
			}
			if c.refuse && !errors.Is(err, errRefused) {
				t.Errorf("%q: the sink's error is not kept: %v", c.lines, err)
			}
			if len(sink.calls) != c.heard {
				t.Errorf("%q, %d workers: heard %q", c.lines, workers, sink.calls)
			}
		}
	}
}

// preparingSink is a pipeline.Preparer: it marks the events it prepares,
// and Event says whether each came marked.
type preparingSink struct {
	callSink
	prepared atomic.Int32
}

func (s *preparingSink) Prepare(e *event.Event) {
	s.prepared.Add(1)
	e.SetTrusted("feed.name", "prepared")
}

func (s *preparingSink) Event(e *event.Event) error {
	s.calls = append(s.calls, "event "+string(e.Raw())+" "+e.Value("feed.name"))
	return nil
}

func TestRecordsPrepareEachEvent(t *testing.T) {
	lines := []string{"a", "bad", "", "long", "b", "warn"}
	want := []string{"event a prepared", "reject bad: bad", "reject long: too long", "event b prepared",
		"warn line 6: odd", "event warn prepared"}
	for _, workers := range []int{1, 2} {
		sink := &preparingSink{}
		r := lineRecords(lines, workers, 1, &sink.callSink)
		r.Sink = sink
		if _, err := r.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sink.calls, want) || sink.prepared.Load() != 3 {
			t.Errorf("%d workers: %d prepared, heard %q", workers, sink.prepared.Load(), sink.calls)
		}
	}
}

// TestRecordsKeepText: with KeepText a worker may keep a record's bytes
// without copying them: every record kept over a run of many chunks still
// reads as it was read, and growing one (append) does not write into the
// next.
func TestRecordsKeepText(t *testing.T) {
	var lines []string
	for i := range 100 {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	for _, workers := range []int{1, 2} {
		sink := &callSink{}
		r := lineRecords(lines, workers, 3, sink)
		r.KeepText = true
		var mu sync.Mutex
		kept := map[int]string{}
		r.NewWorker = func() func([]byte, int, error) Result {
			return func(rec []byte, line int, err error) Result {
				_ = append(rec, "!!"...)
				mu.Lock()
				kept[line] = unsafe.String(unsafe.SliceData(rec), len(rec))
				mu.Unlock()
				return Result{Line: line}
			}
		}
		if _, err := r.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		for i, l := range lines {
			if got := kept[i+1]; got != l {
				t.Errorf("%d workers: line %d kept as %q, want %q", workers, i+1, got, l)
			}
		}
	}
}
