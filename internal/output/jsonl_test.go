package output

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// clock is a settable clock for outputs that put the date in paths.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// jsonlSteps is what the subtests of TestJSONL share.
type jsonlSteps struct {
	ctx    context.Context
	events []*event.Event
	clk    *clock
}

func TestJSONL(t *testing.T) {
	ctx := context.Background()
	events := testEvents(t, 4)
	clk := &clock{t: time.Date(2026, 11, 20, 23, 59, 0, 0, time.UTC)}

	s := &jsonlSteps{ctx: ctx, events: events, clk: clk}
	t.Run("golden", s.golden)
	t.Run("feed and date placeholders", s.feedAndDatePlaceholders)
	t.Run("rotation is noticed", s.rotationIsNoticed)
	t.Run("appends to an existing file", s.appendsToExistingFile)
	t.Run("empty batch creates no file", s.emptyBatchCreatesNoFile)
	t.Run("needs a path", s.needsAPath)
}

// golden is the subtest "golden" of TestJSONL.
func (s *jsonlSteps) golden(t *testing.T) {
	ctx := s.ctx
	events := s.events
	clk := s.clk
	path := filepath.Join(t.TempDir(), "events.jsonl")
	out, err := NewJSONL(path, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for _, part := range [][]*event.Event{events[:3], events[3:]} {
		if err := out.Write(ctx, &pipeline.Batch{Feed: "shadowserver-scan-rdp", Events: part}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "jsonl.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update and review the diff):\n%s", golden, got)
	}
	// What was written reads back as the same events.
	for i, line := range readLines(t, path) {
		var e event.Event
		if err := e.ParseJSON([]byte(line)); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if e.Hash() != events[i].Hash() {
			t.Errorf("line %d reads back as a different event", i+1)
		}
	}
}

// feedAndDatePlaceholders is the subtest "feed and date placeholders" of TestJSONL.
func (s *jsonlSteps) feedAndDatePlaceholders(t *testing.T) {
	ctx := s.ctx
	events := s.events
	clk := s.clk
	dir := t.TempDir()
	env := pipeline.Env{DataDir: dir, Now: clk.now}
	o, err := pipeline.NewOutput("jsonl", env, pipeline.Options{"path": "export/{feed}/{date}.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	out := o.(*JSONL)
	defer out.Close()
	write := func(feed string, e ...*event.Event) {
		t.Helper()
		if err := out.Write(ctx, &pipeline.Batch{Feed: feed, Events: e}); err != nil {
			t.Fatal(err)
		}
	}
	write("rdp", events[0])
	write("ftp", events[1])
	clk.set(clk.now().Add(2 * time.Minute)) // past midnight
	write("rdp", events[2])
	write("../../etc/cron.d", events[3])

	for path, wantLines := range map[string]int{
		"export/rdp/2026-11-20.jsonl":              1,
		"export/ftp/2026-11-20.jsonl":              1,
		"export/rdp/2026-11-21.jsonl":              1,
		"export/_._.._etc_cron.d/2026-11-21.jsonl": 1,
	} {
		if got := len(readLines(t, filepath.Join(dir, path))); got != wantLines {
			t.Errorf("%s has %d lines, want %d", path, got, wantLines)
		}
	}
	if n := len(out.open); n != 3 {
		t.Errorf("%d files open, want 3 (the old day's file of rdp closed)", n)
	}
}

// rotationIsNoticed is the subtest "rotation is noticed" of TestJSONL.
func (s *jsonlSteps) rotationIsNoticed(t *testing.T) {
	ctx := s.ctx
	events := s.events
	clk := s.clk
	dir := t.TempDir()
	path := filepath.Join(dir, "events.jsonl")
	out, err := NewJSONL(path, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := out.Write(ctx, &pipeline.Batch{Feed: "f", Events: events[:2]}); err != nil {
		t.Fatal(err)
	}
	// What logrotate does without copytruncate.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := out.Write(ctx, &pipeline.Batch{Feed: "f", Events: events[2:]}); err != nil {
		t.Fatal(err)
	}
	if got := len(readLines(t, path+".1")); got != 2 {
		t.Errorf("rotated file has %d lines, want 2", got)
	}
	if got := len(readLines(t, path)); got != 2 {
		t.Errorf("new file has %d lines, want 2", got)
	}
}

// appendsToExistingFile is the subtest "appends to an existing file" of TestJSONL.
func (s *jsonlSteps) appendsToExistingFile(t *testing.T) {
	ctx := s.ctx
	events := s.events
	clk := s.clk
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte("{\"feed.name\": \"earlier\"}\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	out, _ := NewJSONL(path, clk.now)
	defer out.Close()
	if err := out.Write(ctx, &pipeline.Batch{Feed: "f", Events: events[:1]}); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	if len(lines) != 2 || !strings.Contains(lines[0], "earlier") {
		t.Errorf("file is %q", lines)
	}
}

// emptyBatchCreatesNoFile is the subtest "empty batch creates no file" of TestJSONL.
func (s *jsonlSteps) emptyBatchCreatesNoFile(t *testing.T) {
	ctx := s.ctx
	clk := s.clk
	path := filepath.Join(t.TempDir(), "events.jsonl")
	out, _ := NewJSONL(path, clk.now)
	if err := out.Write(ctx, &pipeline.Batch{Feed: "f"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("stat: %v, want no file", err)
	}
}

// needsAPath is the subtest "needs a path" of TestJSONL.
func (s *jsonlSteps) needsAPath(t *testing.T) {
	_, err := pipeline.NewOutput("jsonl", pipeline.Env{}, pipeline.Options{})
	if err == nil {
		t.Error("no error without path")
	}
	_, err = pipeline.NewOutput("jsonl", pipeline.Env{}, pipeline.Options{"path": "/x", "fsync": false})
	if err == nil || !strings.Contains(err.Error(), "fsync") {
		t.Errorf("err = %v, want one naming the unknown option", err)
	}
}

func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"shadowserver-scan_rdp": "shadowserver-scan_rdp",
		"abuse.ch":              "abuse.ch",
		"../x":                  "_._x",
		"..":                    "_.",
		".hidden":               "_hidden",
		"a/b\\c d":              "a_b_c_d",
		"":                      "_",
	} {
		if got := safeFileName(in); got != want {
			t.Errorf("safeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkJSONLWrite(b *testing.B) {
	out, err := NewJSONL(filepath.Join(b.TempDir(), "events.jsonl"), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	const batchSize = 1000
	batch := &pipeline.Batch{Feed: "bench", Events: testEvents(b, batchSize)}
	for b.Loop() {
		if err := out.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batchSize)/b.Elapsed().Seconds(), "events/s")
}
