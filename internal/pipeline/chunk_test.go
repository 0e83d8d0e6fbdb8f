package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

// splitParser reads "ip port" lines, numbered from Input.FirstLine, and
// splits an input into chunks of its lines; a line "fail" fails the
// input it is in.
type splitParser struct{}

func (splitParser) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	sc := bufio.NewScanner(in.Body)
	n := max(in.FirstLine, 1) - 1
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "fail" {
			return errors.New("the parser gives up")
		}
		f := strings.Fields(line)
		e := event.New(8)
		if len(f) != 2 {
			sink.Reject([]byte(line), &pipeline.LineError{Line: n, Err: errors.New("want two fields")})
			continue
		}
		if err := e.Set("source.ip", f[0]); err != nil {
			sink.Reject([]byte(line), &pipeline.LineError{Line: n, Err: err})
			continue
		}
		if err := sink.Event(e); err != nil {
			return err
		}
	}
	return sc.Err()
}

func (splitParser) Split(ctx context.Context, in pipeline.Input, sink pipeline.Sink, records int, emit func(*pipeline.Chunk) error) error {
	sc := bufio.NewScanner(in.Body)
	c := &pipeline.Chunk{}
	n := 0
	for sc.Scan() {
		n++
		if c.Records == 0 {
			c.FirstLine = n
		}
		c.Text = append(append(c.Text, sc.Bytes()...), '\n')
		if c.Records++; c.Records == records {
			if err := emit(c); err != nil {
				return err
			}
			c.Text, c.Records = c.Text[:0], 0
		}
	}
	if c.Records > 0 {
		return emit(c)
	}
	return sc.Err()
}

// chunkTransport is the in-process transport that carries chunks too, as
// the bus does.
type chunkTransport struct{ *pipeline.Local }

func (t chunkTransport) PublishChunk(ctx context.Context, c *pipeline.Chunk) (pipeline.Pending, error) {
	cp := *c
	cp.Head, cp.Text = bytes.Clone(c.Head), bytes.Clone(c.Text)
	return t.Publish(ctx, &pipeline.Batch{Feed: cp.Feed, Chunk: &cp})
}

func chunkRunner(t *testing.T, st store.Store, limits pipeline.DeadLetterLimits, workers int) *pipeline.Runner {
	t.Helper()
	return startRunner(t, pipeline.RunnerConfig{
		Env:       pipeline.Env{Store: st, Now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }},
		Transport: chunkTransport{pipeline.NewLocal(2)},
		Feeds:     []*pipeline.Feed{{Name: "test", ParserID: "split", Parser: splitParser{}}},
		Outputs:   []pipeline.Output{storeOutput{st}}, BatchSize: 10, Workers: workers, DeadLetters: limits,
	})
}

// TestChunkRefusedAfterTheLimit: the chunks of one input share its
// dead-letter limits; the chunk whose reject passes them is refused from
// that line as one letter, and so is every later chunk of the input from
// its first reject.
func TestChunkRefusedAfterTheLimit(t *testing.T) {
	st := openStore(t)
	// One worker: the chunks are parsed in order.
	r := chunkRunner(t, st, pipeline.DeadLetterLimits{MaxLetters: 3}, 1)
	var input strings.Builder
	input.WriteString("192.0.2.1 22\n" + strings.Repeat("junk\n", 9))
	input.WriteString("192.0.2.2 22\njunk\njunk\n")
	for i := range 7 {
		fmt.Fprintf(&input, "192.0.2.%d 22\n", 10+i)
	}
	d, err := r.DeliverReport(context.Background(), pipeline.Input{Feed: "test", Name: "f.txt", Body: strings.NewReader(input.String())})
	if err != nil {
		t.Fatal(err)
	}
	if d.LinesRead != 20 || d.Parsed != 20 {
		t.Errorf("delivery %+v: want 20 lines read and handed on", d)
	}
	dl := allLetters(t, st)
	refusals := map[int64]string{}
	for _, l := range dl {
		if l.Parser == pipeline.RefusedParser {
			refusals[l.Line] = l.Error
		}
	}
	// The chunk of lines 1-10 is refused from line 5, the fourth junk
	// line: 6 lines; that of lines 11-20 from its first junk line, 12:
	// 9 lines.
	if len(dl) != 5 || len(refusals) != 2 || !strings.Contains(refusals[5], "6 lines") || !strings.Contains(refusals[12], "9 lines") {
		t.Fatalf("%d dead letters, refusals %v: want 3 letters and the refusals of lines 5 (6 lines) and 12 (9 lines)", len(dl), refusals)
	}
	if n, err := st.CountEvents(context.Background()); err != nil || n != 2 {
		t.Errorf("%d events stored (%v), want 2", n, err)
	}
	if s := feedStatus(t, st); s.DeadLetters != 5 || s.LinesRead != 20 {
		t.Errorf("feed counters %+v: want 5 dead letters, 20 lines read", s.FeedCounters)
	}
}

// TestChunkThatDoesNotParse: a chunk its parser fails on is one dead
// letter (it would fail again), and the chunks around it are stored; a
// chunk of a feed the worker does not know fails, to come back for a
// worker that does.
func TestChunkThatDoesNotParse(t *testing.T) {
	st := openStore(t)
	r := chunkRunner(t, st, pipeline.DeadLetterLimits{}, 2)
	var input strings.Builder
	for i := range 30 {
		if i == 15 {
			input.WriteString("fail\n")
			continue
		}
		fmt.Fprintf(&input, "192.0.2.%d 22\n", i+1)
	}
	if err := r.Deliver(context.Background(), pipeline.Input{Feed: "test", Name: "f.txt", Body: strings.NewReader(input.String())}); err != nil {
		t.Fatal(err)
	}
	dl := allLetters(t, st)
	if len(dl) != 1 || dl[0].Line != 11 || !strings.Contains(dl[0].Error, "gives up") || strings.Count(string(dl[0].Input), "\n") != 10 {
		t.Fatalf("dead letters %+v: want the chunk of lines 11-20", dl)
	}
	if n, err := st.CountEvents(context.Background()); err != nil || n != 20 {
		t.Errorf("%d events stored (%v), want 20", n, err)
	}
	err := r.Process(context.Background(), &pipeline.Batch{Feed: "gone", Chunk: &pipeline.Chunk{Feed: "gone", Name: "f.txt", Text: []byte("192.0.2.1 22\n"), Records: 1}})
	if err == nil {
		t.Error("a chunk of a feed the worker does not have was taken")
	}
}

// batchSizes is an output that records the size of every batch written.
type batchSizes struct {
	mu    sync.Mutex
	sizes []int
}

func (o *batchSizes) Write(ctx context.Context, b *pipeline.Batch) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sizes = append(o.sizes, len(b.Events))
	return nil
}

// TestChunkIsOneBatch: a chunk's events are one batch whatever the
// worker's batch size (the publisher's may differ), so a chunk delivered
// again to another worker has the same identity; and a chunk whose parse
// fails after a batch's worth of rows writes none of them.
func TestChunkIsOneBatch(t *testing.T) {
	st := openStore(t)
	sizes := &batchSizes{}
	r := pipeline.NewRunner(pipeline.RunnerConfig{
		Env:       pipeline.Env{Store: st, Now: time.Now},
		Transport: pipeline.NewLocal(1),
		Feeds:     []*pipeline.Feed{{Name: "test", ParserID: "split", Parser: splitParser{}}},
		Outputs:   []pipeline.Output{sizes}, BatchSize: 10, Workers: 1,
	})
	var text bytes.Buffer
	for i := range 25 {
		fmt.Fprintf(&text, "192.0.2.%d 22\n", i+1)
	}
	chunk := func(text []byte, records int) *pipeline.Batch {
		return &pipeline.Batch{Feed: "test", Chunk: &pipeline.Chunk{Feed: "test", Name: "f.txt", FirstLine: 1,
			Observed: "2026-12-07T12:00:00Z", Text: text, Records: records}}
	}
	if err := r.Process(context.Background(), chunk(text.Bytes(), 25)); err != nil {
		t.Fatal(err)
	}
	text.WriteString("fail\n")
	if err := r.Process(context.Background(), chunk(text.Bytes(), 26)); err != nil {
		t.Fatal(err)
	}
	sizes.mu.Lock()
	defer sizes.mu.Unlock()
	if !slices.Equal(sizes.sizes, []int{25}) {
		t.Errorf("batches of the chunks %v, want one of 25 (and none of the chunk that fails)", sizes.sizes)
	}
}
