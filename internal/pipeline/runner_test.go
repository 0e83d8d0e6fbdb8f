package pipeline_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// lineParser reads "ip port" lines; a line it cannot read is rejected.
// strict makes it refuse ports above 1000, so tests can "fix" it later.
type lineParser struct{ strict atomic.Bool }

func (p *lineParser) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	sc := bufio.NewScanner(in.Body)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			pipeline.NotData(sink, 1) // a header or a comment
			continue
		}
		f := strings.Fields(line)
		e := event.New(8)
		e.SetRaw([]byte(line))
		if len(f) != 2 {
			sink.Reject([]byte(line), &pipeline.LineError{Line: n, Err: errors.New("want two fields")})
			continue
		}
		err := e.Set("source.ip", f[0])
		if err == nil {
			err = e.Set("source.port", f[1])
		}
		if err == nil && p.strict.Load() && len(f[1]) > 3 {
			err = errors.New("port too large for the strict parser")
		}
		if err != nil {
			sink.Reject([]byte(line), &pipeline.LineError{Line: n, Err: err})
			continue
		}
		e.SetTrusted("classification.type", "scanner")
		if err := sink.Event(e); err != nil {
			return err
		}
	}
	return sc.Err()
}

type failingOutput struct{ err error }

func (o failingOutput) Write(ctx context.Context, b *pipeline.Batch) error { return o.err }

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// storeOutput is the minimal store output: the real one lives in package
// output, which imports this package.
type storeOutput struct{ st store.Store }

func (o storeOutput) Write(ctx context.Context, b *pipeline.Batch) error {
	_, err := o.WriteCount(ctx, b)
	return err
}

func (o storeOutput) WriteCount(ctx context.Context, b *pipeline.Batch) (int, error) {
	return o.st.InsertBatch(ctx, store.EventBatch{ID: b.ID, Events: b.Events, Dedup: b.Dedup, Count: b.Count})
}

func newRunner(t *testing.T, st store.Store, parser pipeline.Parser, keepRaw bool, outputs ...pipeline.Output) *pipeline.Runner {
	t.Helper()
	outs := append([]pipeline.Output{storeOutput{st}}, outputs...)
	r := pipeline.NewRunner(pipeline.RunnerConfig{
		Env:       pipeline.Env{Store: st, Now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }},
		Transport: pipeline.NewLocal(2),
		Feeds: []*pipeline.Feed{{Name: "test", Provider: "Example", TLP: "amber", Accuracy: 90,
			KeepRaw: keepRaw, ParserID: "lines", Parser: parser}},
		Outputs: outs, BatchSize: 2, Workers: 2,
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go r.Work(ctx)
	return r
}

func feedStatus(t *testing.T, st store.Store) store.FeedStatus {
	t.Helper()
	all, err := st.ListFeedStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name == "test" {
			return s
		}
	}
	t.Fatal("feed test has no status")
	return store.FeedStatus{}
}

const input = "192.0.2.1 22\n192.0.2.2 23\nbroken\n192.0.2.3 80\n192.0.2.999 80\n198.51.100.1 8080\n"

// TestLinesReadCountDataOnly: the lines a parser says carry no data (a
// header, comments) are not counted as lines read.
func TestLinesReadCountDataOnly(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	r := newRunner(t, st, &lineParser{}, false)
	body := "# ip port\n192.0.2.1 22\n# a comment\n192.0.2.2 23\nbroken\n"
	if err := r.Deliver(ctx, pipeline.Input{Feed: "test", Name: "h.txt", Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	if s := feedStatus(t, st); s.LinesRead != 3 || s.EventsOut != 2 || s.DeadLetters != 1 {
		t.Errorf("feed status %+v, want 3 lines, 2 events, 1 dead letter", s.FeedCounters)
	}
}

func TestDeliverStoresLabelsAndDeadLetters(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	r := newRunner(t, st, &lineParser{}, false)
	if err := r.Deliver(ctx, pipeline.Input{Feed: "test", Name: "x.txt", Body: strings.NewReader(input)}); err != nil {
		t.Fatal(err)
	}
	page, err := st.SearchEvents(ctx, store.EventQuery{Feed: "test", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 4 {
		t.Fatalf("%d events stored, want 4", len(page.Events))
	}
	e := page.Events[0].Event
	for k, want := range map[string]string{"feed.name": "test", "feed.provider": "Example", "tlp": "AMBER",
		"feed.accuracy": "90", "time.observation": "2026-11-23T12:00:00+00:00"} {
		if got := e.Value(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if e.Has("raw") {
		t.Error("raw kept although the feed drops it")
	}
	letters, err := st.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "test", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 2 {
		t.Fatalf("%d dead letters, want 2: %+v", len(letters), letters)
	}
	reasons := letters[0].Error + " | " + letters[1].Error
	if !strings.Contains(reasons, "want two fields") || !strings.Contains(reasons, "source.ip") {
		t.Errorf("reasons do not explain: %s", reasons)
	}
	s := feedStatus(t, st)
	if s.LinesRead != 6 || s.EventsOut != 4 || s.DeadLetters != 2 || s.LastRun.IsZero() {
		t.Errorf("feed status %+v", s)
	}

	t.Run("same input again stores nothing new", func(t *testing.T) {
		if err := r.Deliver(ctx, pipeline.Input{Feed: "test", Name: "x.txt", Body: strings.NewReader(input)}); err != nil {
			t.Fatal(err)
		}
		n, _ := st.CountEvents(ctx)
		if n != 4 {
			t.Fatalf("%d events after a replay, want 4", n)
		}
		if s := feedStatus(t, st); s.Duplicates != 4 || s.EventsOut != 4 {
			t.Fatalf("replay not counted as duplicates: %+v", s)
		}
		again, err := st.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "test", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(again) != 2 {
			t.Fatalf("%d dead letters after a replay, want the same 2", len(again))
		}
		if again[0].Source != "x.txt" || again[0].Line != 5 || again[1].Source != "x.txt" || again[1].Line != 3 {
			t.Errorf("letters' source and line: %s:%d, %s:%d; want x.txt:5, x.txt:3", again[0].Source, again[0].Line, again[1].Source, again[1].Line)
		}
		if counts, _ := st.CountDeadLetters(ctx); counts["test"] != 2 {
			t.Errorf("pending letters after a replay: %v, want test:2", counts)
		}
		if s := feedStatus(t, st); s.DeadLetters != 2 {
			t.Errorf("feed status counts %d dead letters after a replay, want the 2 stored", s.DeadLetters)
		}
	})
	t.Run("unknown feed", func(t *testing.T) {
		if err := r.Deliver(ctx, pipeline.Input{Feed: "nope", Body: strings.NewReader("")}); err == nil {
			t.Fatal("delivered to a feed that does not exist")
		}
	})
}

func TestRetryDeadLettersAfterParserFix(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	p := &lineParser{}
	p.strict.Store(true)
	r := newRunner(t, st, p, true)
	if err := r.Deliver(ctx, pipeline.Input{Feed: "test", Name: "x", Body: strings.NewReader("192.0.2.1 22\n192.0.2.5 8443\nbroken\n")}); err != nil {
		t.Fatal(err)
	}
	letters, _ := st.ListDeadLetters(ctx, store.DeadLetterQuery{Limit: 10})
	if len(letters) != 2 {
		t.Fatalf("%d letters", len(letters))
	}
	var ids []int64
	for _, l := range letters {
		ids = append(ids, l.ID)
	}
	n, err := r.RetryDeadLetters(ctx, ids)
	if err != nil || n != 0 {
		t.Fatalf("retry with the same parser: %d, %v", n, err)
	}
	p.strict.Store(false)
	n, err = r.RetryDeadLetters(ctx, ids)
	if err != nil || n != 1 {
		t.Fatalf("retry after the fix: %d succeeded, %v; want 1 (the broken line stays)", n, err)
	}
	if c, _ := st.CountEvents(ctx); c != 2 {
		t.Fatalf("%d events, want 2", c)
	}
	pending, _ := st.ListDeadLetters(ctx, store.DeadLetterQuery{Limit: 10})
	if len(pending) != 1 || !strings.Contains(string(pending[0].Input), "broken") {
		t.Fatalf("pending letters %+v", pending)
	}
}

// TestRetryRecordsWhyAndReadsEdits re-runs letters that still fail (the
// reason is kept on the letter, which stays pending), edits one and
// re-runs it, and re-runs a feed's pending letters, skipping a discarded one.
func TestRetryRecordsWhyAndReadsEdits(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	p := &lineParser{}
	p.strict.Store(true)
	r := newRunner(t, st, p, true)
	if err := r.Deliver(ctx, pipeline.Input{Feed: "test", Name: "x", Body: strings.NewReader("192.0.2.1 22\n192.0.2.5 8443\nbroken\n192.0.2.6 9999\n")}); err != nil {
		t.Fatal(err)
	}
	ids, err := pipeline.PendingDeadLetterIDs(ctx, st, "test", 10)
	if err != nil || len(ids) != 3 {
		t.Fatalf("PendingDeadLetterIDs = %v, %v", ids, err)
	}
	port, broken, other := ids[0], ids[1], ids[2]
	if limited, _ := pipeline.PendingDeadLetterIDs(ctx, st, "test", 2); len(limited) != 2 || limited[0] != broken || limited[1] != other {
		t.Errorf("PendingDeadLetterIDs with a limit of 2 = %v, want the two newest, oldest first", limited)
	}
	results, err := r.RetryDeadLettersReport(ctx, []int64{port, broken})
	if err != nil || len(results) != 2 || results[0].OK || results[1].OK {
		t.Fatalf("retry with the same parser: %+v, %v", results, err)
	}
	if !strings.Contains(results[0].Error, "port too large") || !strings.Contains(results[1].Error, "want two fields") {
		t.Errorf("reasons = %q, %q", results[0].Error, results[1].Error)
	}
	l, err := st.GetDeadLetter(ctx, port)
	if err != nil || !strings.Contains(l.RetryError, "port too large") || l.RetryTime.IsZero() || !l.Pending() {
		t.Errorf("letter after a failed re-run = %+v, %v; want pending with the reason", l, err)
	}

	if err := st.EditDeadLetter(ctx, port, []byte("192.0.2.5 443")); err != nil {
		t.Fatal(err)
	}
	if n, err := st.DiscardDeadLetters(ctx, []int64{broken}, "alice", "not a line of the report"); err != nil || n != 1 {
		t.Fatalf("discard: %d, %v", n, err)
	}
	ids, err = pipeline.PendingDeadLetterIDs(ctx, st, "test", pipeline.MaxRetryFeed)
	if err != nil || len(ids) != 2 {
		t.Fatalf("pending after a discard: %v, %v", ids, err)
	}
	results, err = r.RetryDeadLettersReport(ctx, append(ids, broken))
	if err != nil || len(results) != 2 || !results[0].OK || results[0].ID != port || results[1].OK || results[1].ID != other {
		t.Fatalf("retry of the feed: %+v, %v; want the edited letter through, the other failing, the discarded one skipped", results, err)
	}
	page, err := st.SearchEvents(ctx, store.EventQuery{IP: netip.MustParseAddr("192.0.2.5"), Limit: 10})
	if err != nil || len(page.Events) != 1 || page.Events[0].Event.Value("source.port") != "443" {
		t.Errorf("event of the edited line: %+v, %v", page.Events, err)
	}
	if l, _ := st.GetDeadLetter(ctx, port); !l.Retried {
		t.Errorf("edited letter not marked retried: %+v", l)
	}
}

func TestPermanentOutputFailureGoesToDeadLetters(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	r := newRunner(t, st, &lineParser{}, true, failingOutput{fmt.Errorf("webhook said 400: %w", pipeline.ErrPermanent)})
	if err := r.Deliver(ctx, pipeline.Input{Feed: "test", Body: strings.NewReader("192.0.2.1 22\n")}); err != nil {
		t.Fatal(err)
	}
	letters, _ := st.ListDeadLetters(ctx, store.DeadLetterQuery{Limit: 10})
	if len(letters) != 1 || letters[0].Parser != "output" || !strings.Contains(letters[0].Error, "400") {
		t.Fatalf("letters %+v", letters)
	}
}

// TestPermanentOutputFailureSaysItself: the dead letters of a batch an
// output refused for good keep the output's message, said in the
// reader's language.
func TestPermanentOutputFailureSaysItself(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	refused := i18n.M("output.webhook.refused", 1, "test", i18n.M("output.webhook.status", "400 Bad Request"))
	r := newRunner(t, st, &lineParser{}, true, failingOutput{&i18n.Error{Message: refused, Err: pipeline.ErrPermanent}})
	if err := r.Deliver(ctx, pipeline.Input{Feed: "test", Body: strings.NewReader("192.0.2.1 22\n")}); err != nil {
		t.Fatal(err)
	}
	letters, _ := st.ListDeadLetters(ctx, store.DeadLetterQuery{Limit: 10})
	if len(letters) != 1 || letters[0].Problem.Encode() != refused.Encode() || letters[0].Error != refused.String() {
		t.Fatalf("letters %+v, want one that says %q", letters, refused)
	}
	for _, lang := range i18n.Codes[1:] {
		if said := letters[0].Reason(i18n.Embedded(), lang); said != refused.In(i18n.Embedded(), lang) || said == refused.String() {
			t.Errorf("%s: %q", lang, said)
		}
	}
}

func TestTemporaryOutputFailureFailsDelivery(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	r := newRunner(t, st, &lineParser{}, true, failingOutput{errors.New("connection refused")})
	err := r.Deliver(ctx, pipeline.Input{Feed: "test", Body: strings.NewReader("192.0.2.1 22\n")})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Deliver = %v; a temporary failure must reach the collector so it keeps the input", err)
	}
}

func TestDetectParser(t *testing.T) {
	for name, want := range map[string]string{
		"2026-11-20-scan_rdp-belgium-geo.csv":    "shadowserver",
		"2026-11-20-scan_rdp-belgium-geo.csv.gz": "shadowserver",
		"events.jsonl":                           "intelmq",
		"cowrie.json.2026-11-20":                 "cowrie",
		"urlhaus-2026-11-20.csv":                 "urlhaus",
		"drop_v4.json":                           "spamhaus-drop",
		"edrop.txt":                              "spamhaus-drop",
		"notes.docx":                             "",
	} {
		if got := pipeline.DetectParser(name); got != want {
			t.Errorf("DetectParser(%q) = %q, want %q", name, got, want)
		}
	}
}

// claimer stands in for the deduplicator: it claims every event and must be
// told when a batch failed, and when the outputs are done with one.
type claimer struct{ released, committed atomic.Int32 }

func (c *claimer) Enrich(ctx context.Context, b *pipeline.Batch) error {
	for _, e := range b.Events {
		b.Dedup = append(b.Dedup, store.DedupKey{Key: e.Hash(), Expires: time.Now().Add(time.Hour)})
	}
	return nil
}

func (c *claimer) Release(b *pipeline.Batch)   { c.released.Add(1) }
func (c *claimer) Committed(b *pipeline.Batch) { c.committed.Add(1) }

func TestFailedBatchReleasesClaims(t *testing.T) {
	st := openStore(t)
	c := &claimer{}
	r := pipeline.NewRunner(pipeline.RunnerConfig{Env: pipeline.Env{Store: st}, Transport: pipeline.NewLocal(1),
		Feeds:     []*pipeline.Feed{{Name: "test", ParserID: "lines", Parser: &lineParser{}}},
		Enrichers: []pipeline.Enricher{c},
		Outputs:   []pipeline.Output{storeOutput{st}, failingOutput{errors.New("timeout")}}, BatchSize: 10})
	b := &pipeline.Batch{Feed: "test", Events: []*event.Event{event.New(1)}}
	if err := r.Process(context.Background(), b); err == nil {
		t.Fatal("Process succeeded with a failing output")
	}
	if c.released.Load() != 1 || c.committed.Load() != 0 {
		t.Fatalf("claims released %d times, committed %d; want 1, 0", c.released.Load(), c.committed.Load())
	}
}

func TestSettledBatchCommitsClaims(t *testing.T) {
	for name, tc := range map[string]struct {
		out                 pipeline.Output
		released, committed int32
	}{
		"stored":        {nil, 0, 1},
		"dead-lettered": {failingOutput{fmt.Errorf("webhook said 400: %w", pipeline.ErrPermanent)}, 0, 1},
	} {
		t.Run(name, func(t *testing.T) {
			st := openStore(t)
			c := &claimer{}
			outputs := []pipeline.Output{storeOutput{st}}
			if tc.out != nil {
				outputs = append(outputs, tc.out)
			}
			r := pipeline.NewRunner(pipeline.RunnerConfig{Env: pipeline.Env{Store: st}, Transport: pipeline.NewLocal(1),
				Feeds:     []*pipeline.Feed{{Name: "test", ParserID: "lines", Parser: &lineParser{}}},
				Enrichers: []pipeline.Enricher{c}, Outputs: outputs, BatchSize: 10})
			b := &pipeline.Batch{Feed: "test", Events: []*event.Event{event.New(1)}}
			if err := r.Process(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			if c.released.Load() != tc.released || c.committed.Load() != tc.committed {
				t.Errorf("claims released %d times, committed %d; want %d, %d", c.released.Load(), c.committed.Load(), tc.released, tc.committed)
			}
		})
	}
}

type closingOutput struct{ closed atomic.Bool }

func (o *closingOutput) Write(ctx context.Context, b *pipeline.Batch) error { return nil }
func (o *closingOutput) Close() error                                       { o.closed.Store(true); return nil }

func TestCloseClosesStages(t *testing.T) {
	st := openStore(t)
	out := &closingOutput{}
	r := pipeline.NewRunner(pipeline.RunnerConfig{Env: pipeline.Env{Store: st}, Transport: pipeline.NewLocal(1),
		Outputs: []pipeline.Output{storeOutput{st}, out}})
	if err := r.Close(); err != nil || !out.closed.Load() {
		t.Fatalf("Close = %v, output closed %v", err, out.closed.Load())
	}
}

// dropper stands in for the deduplicator dropping events: it keeps the
// first event of a batch only.
type dropper struct{}

func (dropper) Enrich(ctx context.Context, b *pipeline.Batch) error {
	b.Duplicates += len(b.Events) - 1
	b.Events = b.Events[:1]
	return nil
}

// TestBatchIdentityBeforeEnrichment: a batch's identity is that of the
// events its parser made, fixed before an enricher drops any, so that a
// redelivery (whose duplicates the deduplicator may judge otherwise) is
// still recognised; the store records it with the batch.
func TestBatchIdentityBeforeEnrichment(t *testing.T) {
	st := openStore(t)
	r := pipeline.NewRunner(pipeline.RunnerConfig{Env: pipeline.Env{Store: st}, Transport: pipeline.NewLocal(1),
		Feeds:     []*pipeline.Feed{{Name: "test", ParserID: "lines", Parser: &lineParser{}}},
		Enrichers: []pipeline.Enricher{dropper{}},
		Outputs:   []pipeline.Output{storeOutput{st}}, BatchSize: 10})
	var events []*event.Event
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		e := event.New(1)
		e.SetTrusted("source.ip", ip)
		events = append(events, e)
	}
	parsed := make([]*event.Event, len(events))
	for i, e := range events {
		parsed[i] = e.Clone()
		parsed[i].Seal()
	}
	b := &pipeline.Batch{Feed: "test", Events: events}
	if err := r.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if want := store.BatchID(parsed); b.ID != want {
		t.Fatalf("batch ID = %s, want the BatchID of the three parsed events %s", b.ID, want)
	}
	// The store knows the batch by that identity now.
	n, err := st.InsertBatch(context.Background(), store.EventBatch{ID: b.ID, Events: parsed[1:]})
	if err != nil || n != 0 {
		t.Fatalf("InsertBatch of the recorded identity = %d, %v; want 0, nil", n, err)
	}
	if c, err := st.CountEvents(context.Background()); err != nil || c != 1 {
		t.Fatalf("CountEvents = %d, %v; want 1", c, err)
	}
}

// refusingLetters is a store whose dead letters cannot be written.
type refusingLetters struct{ store.Store }

func (refusingLetters) RecordDeadLetters(context.Context, []store.DeadLetter) (int64, error) {
	return 0, errors.New("disk full")
}

// TestUnsafeDeadLetteredBatchReleasesClaims: a batch an output refused for
// good whose dead letters could not be written either comes back, so its
// claims are given back as for any failed batch, not kept as if it were
// safe (its delivery again would be thrown away as duplicates of itself).
func TestUnsafeDeadLetteredBatchReleasesClaims(t *testing.T) {
	st := refusingLetters{openStore(t)}
	c := &claimer{}
	r := pipeline.NewRunner(pipeline.RunnerConfig{Env: pipeline.Env{Store: st}, Transport: pipeline.NewLocal(1),
		Feeds:     []*pipeline.Feed{{Name: "test", ParserID: "lines", Parser: &lineParser{}}},
		Enrichers: []pipeline.Enricher{c},
		Outputs:   []pipeline.Output{failingOutput{fmt.Errorf("bad request: %w", pipeline.ErrPermanent)}}, BatchSize: 10})
	b := &pipeline.Batch{Feed: "test", Events: []*event.Event{event.New(1)}}
	if err := r.Process(context.Background(), b); err == nil {
		t.Fatal("Process succeeded although the dead letters were not written")
	}
	if c.released.Load() != 1 {
		t.Fatalf("claims released %d times, want 1", c.released.Load())
	}
}
