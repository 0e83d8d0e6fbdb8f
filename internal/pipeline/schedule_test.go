package pipeline_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// gatedCollector delivers one input on Run, whose body blocks until
// release is closed, then waits for its context to end; Fetch delivers
// one small input at once.
type gatedCollector struct {
	feed    string
	release chan struct{}
	started chan context.Context
}

func (c *gatedCollector) Run(ctx context.Context, deliver pipeline.Deliver) error {
	c.started <- ctx
	body := io.MultiReader(strings.NewReader("192.0.2.1 22\n"), readerFunc(func(p []byte) (int, error) {
		<-c.release
		return copy(p, "192.0.2.2 23\n"), io.EOF
	}))
	err := deliver(ctx, pipeline.Input{Feed: c.feed, Name: "scheduled.txt", Body: body})
	<-ctx.Done()
	return err
}

func (c *gatedCollector) Fetch(ctx context.Context, deliver pipeline.Deliver) error {
	return deliver(ctx, pipeline.Input{Feed: c.feed, Name: "by-hand.txt", Body: strings.NewReader("192.0.2.3 80\nbroken\n")})
}

type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// memoryRuns is a RunLog in memory.
type memoryRuns struct {
	mu   sync.Mutex
	runs []*run
}

type run struct {
	feed, trigger, by, err     string
	problems                   []i18n.Message
	finishProblem              i18n.Message
	inputs, lines, parsed, dls int64
	stored, dups               int64
	finished                   bool
	names                      []string
}

func (m *memoryRuns) StartRun(_ context.Context, feed, trigger, by string, _ time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs = append(m.runs, &run{feed: feed, trigger: trigger, by: by})
	return int64(len(m.runs)), nil
}

func (m *memoryRuns) AddRunInput(_ context.Context, id int64, d pipeline.Delivery, errText string, problem i18n.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.runs[id-1]
	r.inputs++
	r.names = append(r.names, d.Name)
	r.lines += d.LinesRead
	r.parsed += d.Parsed
	r.dls += d.DeadLetters
	r.err += errText
	r.problems = append(r.problems, problem)
	return nil
}

func (m *memoryRuns) AddRunEvents(_ context.Context, id int64, stored, duplicates int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs[id-1].stored += stored
	m.runs[id-1].dups += duplicates
	return nil
}

func (m *memoryRuns) FinishRun(_ context.Context, id int64, _ time.Time, errText string, problem i18n.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs[id-1].finished = true
	m.runs[id-1].err += errText
	m.runs[id-1].finishProblem = problem
	return nil
}

func (m *memoryRuns) get(i int) run {
	m.mu.Lock()
	defer m.mu.Unlock()
	return *m.runs[i]
}

// TestPauseLetsTheRunFinish: pausing a feed stops its collector only once
// the delivery in progress is done; the run is recorded with what it
// did; a run asked for by hand runs the paused feed once.
func TestPauseLetsTheRunFinish(t *testing.T) {
	st := openStore(t)
	runs := &memoryRuns{}
	col := &gatedCollector{feed: "test", release: make(chan struct{}), started: make(chan context.Context, 1)}
	feed := &pipeline.Feed{Name: "test", ParserID: "lines", Parser: &lineParser{}, KeepRaw: true, Collector: col}
	r := pipeline.NewRunner(pipeline.RunnerConfig{
		Env:       pipeline.Env{Store: st},
		Transport: pipeline.NewLocal(1), Feeds: []*pipeline.Feed{feed},
		Outputs: []pipeline.Output{storeOutput{st}}, BatchSize: 10, Workers: 1, Runs: runs,
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go r.Work(ctx)
	done := make(chan error, 1)
	go func() { done <- r.RunCollectors(ctx) }()
	colCtx := <-col.started

	paused := *feed
	paused.Paused = true
	r.SetFeeds([]*pipeline.Feed{&paused})
	select {
	case <-colCtx.Done():
		t.Fatal("pausing cancelled the delivery in progress")
	default:
	}
	close(col.release)
	<-colCtx.Done() // the delivery finished, then the collector stopped
	if got := runs.get(0); got.trigger != pipeline.TriggerSchedule || !got.finished || got.inputs != 1 || got.lines != 2 || got.parsed != 2 ||
		len(got.names) != 1 || got.names[0] != "scheduled.txt" {
		t.Errorf("scheduled run = %+v", got)
	}

	if err := r.RunNow(ctx, "test", "alice"); err != nil {
		t.Fatalf("RunNow(paused feed) = %v", err)
	}
	got := runs.get(1)
	if got.trigger != pipeline.TriggerByHand || got.by != "alice" || !got.finished || got.inputs != 1 || got.lines != 2 || got.parsed != 1 || got.dls != 1 ||
		len(got.names) != 1 || got.names[0] != "by-hand.txt" {
		t.Errorf("run by hand = %+v", got)
	}
	// The local transport has stored the batch when delivery returns.
	if got.stored != 1 {
		t.Errorf("run by hand stored %d events, want 1", got.stored)
	}
	if err := r.RunNow(ctx, "nope", "alice"); err == nil {
		t.Error("RunNow(unknown feed) succeeded")
	}
	cancel()
	<-done
}

// TestRunNowWithoutCollector: a feed fed only from the command line
// cannot run on demand; the run is recorded as failed, saying why.
func TestRunNowWithoutCollector(t *testing.T) {
	st := openStore(t)
	runs := &memoryRuns{}
	r := pipeline.NewRunner(pipeline.RunnerConfig{
		Env: pipeline.Env{Store: st}, Transport: pipeline.NewLocal(1), Runs: runs,
		Feeds: []*pipeline.Feed{{Name: "cli-only", ParserID: "lines", Parser: &lineParser{}}},
	})
	if err := r.RunNow(t.Context(), "cli-only", "alice"); !errors.Is(err, pipeline.ErrCannotRunNow) {
		t.Errorf("RunNow = %v, want ErrCannotRunNow", err)
	}
	if got := runs.get(0); !got.finished || got.by != "alice" || !strings.Contains(got.err, "cannot run on demand") {
		t.Errorf("recorded run = %+v", got)
	}
}

// failingCollector fails its one scheduled run before delivering.
type failingCollector struct {
	hook func(ctx context.Context, err error)
}

func (c *failingCollector) OnFailure(f func(ctx context.Context, err error)) { c.hook = f }

func (c *failingCollector) Run(ctx context.Context, _ pipeline.Deliver) error {
	c.hook(ctx, errors.New("download: 503 Service Unavailable"))
	<-ctx.Done()
	return nil
}

// TestScheduledFailureIsARun: a collector's scheduled run that fails on
// its own shows in the history as a failed run.
func TestScheduledFailureIsARun(t *testing.T) {
	st := openStore(t)
	runs := &memoryRuns{}
	col := &failingCollector{}
	r := pipeline.NewRunner(pipeline.RunnerConfig{
		Env: pipeline.Env{Store: st}, Transport: pipeline.NewLocal(1), Runs: runs,
		Feeds: []*pipeline.Feed{{Name: "down", ParserID: "lines", Parser: &lineParser{}, Collector: col}},
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.RunCollectors(ctx) }()
	// The hook runs in the collector before it waits: once its run is
	// recorded, the history has it.
	for {
		runs.mu.Lock()
		n := len(runs.runs)
		runs.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if got := runs.get(0); got.trigger != pipeline.TriggerSchedule || !got.finished || got.err != "download: 503 Service Unavailable" || got.inputs != 0 {
		t.Errorf("failed run = %+v", got)
	}
}
