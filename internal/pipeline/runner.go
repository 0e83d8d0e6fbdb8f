package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// Feed is a configured source ready to run.
type Feed struct {
	Name     string
	Provider string
	URL      string
	Code     string
	// TLP labels events that carry none.
	TLP      string
	Accuracy float64
	KeepRaw  bool
	ParserID string
	Parser   Parser
	// Collector is nil for feeds fed only from the command line.
	Collector Collector
	// Paused feeds keep their stages, so that what they delivered can be
	// retried and a run asked for by hand can start, but their collector
	// does not run on its schedule.
	Paused bool
}

// Runner connects the stages: Deliver parses an input and publishes its
// batches on the transport; the workers (Work) enrich and store them.
type Runner struct {
	env       Env
	log       *slog.Logger
	transport Transport
	// mu guards feeds and the schedule, which SetFeeds changes while
	// the collectors run.
	mu        sync.Mutex
	feeds     map[string]*Feed
	schedule  *schedule
	runs      RunLog
	enrichers []Enricher
	outputs   []Output
	batchSize int
	workers   int
	metrics   *Metrics
	limits    DeadLetterLimits
	// budgets are the dead-letter limits of the inputs whose chunks
	// the workers parse (processChunk).
	budgets letterBudgets
}

// RunnerConfig is what NewRunner needs.
type RunnerConfig struct {
	Env       Env
	Transport Transport
	Feeds     []*Feed
	Enrichers []Enricher
	Outputs   []Output
	BatchSize int
	Workers   int
	Metrics   *Metrics
	// DeadLetters bounds the dead letters of one input; zero fields take
	// DefaultDeadLetterLimits.
	DeadLetters DeadLetterLimits
	// Runs records the history of the feeds' runs; nil records none.
	Runs RunLog
}

// NewRunner builds a runner.
func NewRunner(cfg RunnerConfig) *Runner {
	r := &Runner{
		env: cfg.Env, log: cfg.Env.Logger, transport: cfg.Transport,
		feeds: map[string]*Feed{}, enrichers: cfg.Enrichers, outputs: cfg.Outputs,
		batchSize: cfg.BatchSize, workers: cfg.Workers, metrics: cfg.Metrics, limits: cfg.DeadLetters,
		runs: cfg.Runs,
	}
	def := DefaultDeadLetterLimits()
	if r.limits.MaxLetters <= 0 {
		r.limits.MaxLetters = def.MaxLetters
	}
	if r.limits.MaxBytes <= 0 {
		r.limits.MaxBytes = def.MaxBytes
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.env.Now == nil {
		r.env.Now = time.Now
	}
	if r.batchSize <= 0 {
		r.batchSize = 1000
	}
	if r.workers <= 0 {
		r.workers = 1
	}
	if r.metrics == nil {
		r.metrics = NewMetrics(nil)
	}
	for _, f := range cfg.Feeds {
		r.feeds[f.Name] = f
	}
	return r
}

// Feed returns the configured feed called name.
func (r *Runner) Feed(name string) (*Feed, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.feeds[name]
	return f, ok
}

// FeedNames lists the configured feeds.
func (r *Runner) FeedNames() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return keys(r.feeds)
}

// Close releases what the stages hold open (an output's files, say): every
// enricher and output that is an io.Closer. Call it after Work returned.
func (r *Runner) Close() error {
	var errs []error
	for _, en := range r.enrichers {
		if c, ok := en.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	for _, out := range r.outputs {
		if c, ok := out.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// Work consumes batches from the transport until ctx ends.
func (r *Runner) Work(ctx context.Context) error {
	return r.transport.Consume(ctx, r.workers, r.Process)
}

// maxInFlight bounds the batches one input has published but not yet seen
// acknowledged: with the batch size it bounds a parser's memory.
const maxInFlight = 8

// Delivery is what became of one input.
type Delivery struct {
	// Name is the input's (Input.Name): its file name or URL.
	Name        string
	LinesRead   int64
	Parsed      int64 // events handed on to enrichment and storage
	DeadLetters int64 // letters written, the refusal's included
	// Refused is set when the input passed a dead-letter limit: the
	// refusal letter's reason, in English and (RefusedMessage) by
	// catalogue ID.
	Refused        string
	RefusedMessage i18n.Message
}

// Deliver implements the collectors' Deliver: it parses in, hands its events
// on in batches and returns once all are safe and every reject is in the
// dead-letter store. It returns an error when the input as a whole could
// not be used. An input refused after too many dead letters is not an
// error: it was read as far as the limits allow, and a collector that
// tried it again would only be refused again.
func (r *Runner) Deliver(ctx context.Context, in Input) error {
	_, err := r.DeliverReport(ctx, in)
	return err
}

// DeliverReport is Deliver that also tells what became of the input.
func (r *Runner) DeliverReport(ctx context.Context, in Input) (Delivery, error) {
	f, ok := r.Feed(in.Feed)
	if !ok {
		return Delivery{Name: in.Name}, i18n.NewError("pipeline.deliver.nofeed", in.Name, in.Feed)
	}
	s := r.newSink(ctx, f, true)
	s.source = in.Name
	s.run = runOf(ctx)
	counter := &lineCounter{r: in.Body}
	s.counter = counter
	in.Body = &refusingReader{r: counter, s: s}
	parseErr := r.parse(ctx, f, in, s)
	if s.refused != nil {
		// The parser stopped because the sink told it to; what it says
		// about the cut-off input is beside the point.
		parseErr = nil
	}
	if parseErr != nil && counter.failed != nil {
		// The input could not be read (a disk's, a download's or a
		// decompression's failure): that is the reason, whatever the
		// parser made of the read that failed.
		parseErr = &i18n.Error{Message: i18n.M("pipeline.input.read", readReason(counter.failed)), Err: parseErr}
	}
	err := s.finish(parseErr)
	lastErr, refused := "", ""
	var (
		notRead        int64
		refusedMessage i18n.Message
		lastProblem    i18n.Message
	)
	if s.refused != nil && err == nil {
		n, cerr := io.Copy(io.Discard, io.LimitReader(counter, maxUncounted+1))
		var (
			letter store.DeadLetter
			why    i18n.Message
		)
		letter, notRead, why = s.refusalLetter(counter.lines(), cerr == nil && n <= maxUncounted)
		var added int64
		if added, err = r.env.Store.RecordDeadLetters(context.WithoutCancel(ctx), []store.DeadLetter{letter}); err == nil {
			s.stored += added
			r.metrics.DeadLetters.WithLabelValues(f.Name).Add(float64(added))
			refused = fmt.Sprintf("%s: %s", in.Name, letter.Error)
			refusedMessage = i18n.M("pipeline.refused.input", in.Name, why)
			lastErr, lastProblem = refused, refusedMessage
			r.log.Warn("input refused", "feed", f.Name, "input", in.Name, "reason", letter.Error)
		} else {
			err = i18n.Wrap(err, "pipeline.deadletters.store")
		}
	}
	// Lines read count the input's data lines: not those cut off by a
	// refusal, nor the header and skipped lines the parser named.
	lines := max(counter.lines()-notRead-s.notData, 0)
	r.metrics.LinesRead.WithLabelValues(f.Name).Add(float64(lines))
	if err != nil {
		lastErr = err.Error()
		lastProblem, _ = i18n.Said(err)
	}
	// What the input cost is counted on its report's row, or on the feed's
	// own when the parser never named a report type.
	c := store.FeedCounters{LinesRead: lines, DeadLetters: s.stored, Warnings: s.warnings}
	key := store.FeedKey{Feed: f.Name, Report: s.report}
	if cerr := r.env.Store.AddFeedCounters(context.WithoutCancel(ctx), key, c, r.env.Now(), time.Time{}, lastErr, lastProblem); cerr != nil && err == nil {
		err = cerr
	}
	d := Delivery{Name: in.Name, LinesRead: lines, Parsed: s.parsed, DeadLetters: s.stored, Refused: refused, RefusedMessage: refusedMessage}
	if err != nil {
		return d, i18n.Wrap(err, "pipeline.deliver.failed", in.Name, f.Name)
	}
	return d, nil
}

// sink batches a parser's output for one input.
type sink struct {
	ctx     context.Context
	r       *Runner
	feed    *Feed
	source  string
	now     string
	batch   []*event.Event
	pending []Pending
	err     error
	// record sends rejects to the dead-letter store; a retry only counts them.
	record   bool
	rejects  []store.DeadLetter
	rejected int64
	// firstReject is the reason of the first reject, which a retry
	// shows, and firstProblem the same as a message (zero when it has
	// none).
	firstReject  string
	firstProblem i18n.Message
	parsed       int64
	// pendingBytes is the size of rejects; letters and letterBytes count
	// what this input wrote against the limits, stored what is safe.
	pendingBytes int64
	letters      int
	letterBytes  int64
	stored       int64
	// refused is set once the input passed a limit.
	refused *refusal
	// report is the input's report type within the feed (SetReport);
	// warnings counts Warn.
	report   string
	warnings int64
	// notData counts the lines the parser said carry no data (NotData).
	notData int64
	// run is the feed run the input belongs to, 0 when none is recorded.
	run     int64
	counter *lineCounter
	// labels are the feed's fields for label; withHash are they and
	// event_hash, for Labels.
	labels, withHash []event.Field
	// process, when set, processes the input's events as one batch at
	// its end instead of publishing batches: a worker parsing a chunk
	// (processChunk).
	process func(ctx context.Context, b *Batch) error
	// budget, when set, holds the input's dead-letter limits for the
	// chunks of it this process parses (processChunk).
	budget *letterBudget
}

func (r *Runner) newSink(ctx context.Context, f *Feed, record bool) *sink {
	now := event.FormatTime(r.env.Now())
	labels := feedLabels(f, now)
	return &sink{ctx: ctx, r: r, feed: f, now: now, record: record, labels: labels, withHash: withHash(labels),
		batch: make([]*event.Event, 0, r.batchSize)}
}

// withHash is labels with an empty event_hash among them, in key order.
func withHash(labels []event.Field) []event.Field {
	i, _ := slices.BinarySearchFunc(labels, "event_hash", func(f event.Field, key string) int { return strings.Compare(f.Key, key) })
	return slices.Insert(slices.Clone(labels), i, event.Field{Key: "event_hash"})
}

// Event implements Sink.
func (s *sink) Event(e *event.Event) error {
	if s.err != nil {
		return s.err
	}
	if s.refused != nil {
		return ErrInputRefused
	}
	if !e.Sealed() { // a Preparer labelled and sealed it already
		s.label(e)
	}
	s.batch = append(s.batch, e)
	s.parsed++
	// A chunk's events are one batch, processed once it is parsed
	// whole (processChunk): its identity then does not depend on this
	// worker's batch size, and a chunk that fails to parse stores none.
	if s.process == nil && len(s.batch) >= s.r.batchSize {
		s.flush()
	}
	return s.err
}

// Prepare implements Preparer: it labels and seals e as Event and Process
// would, on the parser's worker. Event does not label a sealed event
// again, and Process's Seal finds nothing changed. The labels and
// event_hash go in together (SealWith), which moves the fields once
// instead of twice; raw, which no label is, is deleted first.
func (s *sink) Prepare(e *event.Event) {
	if !s.feed.KeepRaw {
		e.Delete("raw")
	}
	e.SealWith(s.labels...)
}

// Labels implements Labeller: the feed's labels and event_hash, in key
// order, event_hash empty. The slice must not be modified.
func (s *sink) Labels() []event.Field { return s.withHash }

// Room implements RoomTeller: the feed's labels, event_hash and the
// fields the runner's enrichers may add to an event of keys (enrichersRoom).
// Room too small costs an event a second array of its fields when an
// enricher adds more (its slice grows); room too large costs each event's
// array 32 bytes a place, cleared by the parser and read past by the
// collector (the bench's Shadowserver events have their AS number and
// country: with 8 places for every feed's enrichers they used none).
func (s *sink) Room(keys []string) int {
	return len(s.labels) + 1 + s.r.enrichersRoom(keys, s.labels)
}

// enricherRoom is the room left for an enricher that does not say what it
// adds (FieldAdder): ASN's name, number and network and GeoIP's country,
// city, region and coordinates of a side that lacks them make 8.
const enricherRoom = 8

// enrichersRoom is how many fields the enrichers may add, in their order,
// to an event with a field of each of keys (sorted) and labels: what one
// enricher may add counts as had for those after it (URL gives a side
// its address, then ASN that address's AS number).
func (r *Runner) enrichersRoom(keys []string, labels []event.Field) int {
	added := map[string]bool{}
	has := func(key string) bool {
		if added[key] || key == "event_hash" {
			return true
		}
		if _, ok := slices.BinarySearch(keys, key); ok {
			return true
		}
		_, ok := slices.BinarySearchFunc(labels, key, func(f event.Field, key string) int { return strings.Compare(f.Key, key) })
		return ok
	}
	n := 0
	for _, en := range r.enrichers {
		adder, ok := en.(FieldAdder)
		if !ok {
			n += enricherRoom
			continue
		}
		for _, key := range adder.MayAdd(has) {
			if !has(key) {
				added[key] = true
				n++
			}
		}
	}
	return n
}

// label adds what the feed knows and the parser does not. It only reads
// the sink, so Prepare may call it on any goroutine.
func (s *sink) label(e *event.Event) {
	e.SetDefaults(s.labels...)
	if !s.feed.KeepRaw {
		e.Delete("raw")
	}
}

// feedLabels are the fields label gives an event that lacks them, in key
// order. They are the same for every event of an input, so the feed's URL
// and TLP are normalized once, not per event; a value that does not
// normalize is left out, as Set would leave it unset.
func feedLabels(f *Feed, now string) []event.Field {
	labels := make([]event.Field, 0, 7)
	add := func(key, value string) { labels = append(labels, event.Field{Key: key, Value: value}) }
	normalized := func(key, value string) {
		if value == "" {
			return
		}
		if v, err := event.Normalize(key, value); err == nil {
			add(key, v)
		}
	}
	// In key order: feed.accuracy, feed.code, feed.name, feed.provider,
	// feed.url, time.observation, tlp.
	if f.Accuracy > 0 {
		add("feed.accuracy", strconv.FormatFloat(f.Accuracy, 'f', -1, 64))
	}
	if f.Code != "" {
		add("feed.code", f.Code)
	}
	add("feed.name", f.Name)
	if f.Provider != "" {
		add("feed.provider", f.Provider)
	}
	normalized("feed.url", f.URL)
	add("time.observation", now)
	normalized("tlp", f.TLP)
	return labels
}

// Report implements ReportKeeper.
func (s *sink) Report(name string) { s.report = name }

// NotData implements DataLineCounter. What a parser says of lines past a
// refusal is not counted: those lines are counted as not read (a parser
// reading ahead, in chunks, still reports on them).
func (s *sink) NotData(lines int) {
	if s.refused == nil {
		s.notData += int64(lines)
	}
}

// Warn implements ReportKeeper.
func (s *sink) Warn(reason error) {
	if s.refused != nil {
		return
	}
	s.warnings++
	if s.warnings == 1 {
		s.r.log.Warn("input read with warnings", "feed", s.feed.Name, "report", s.report, "input", s.source, "first", reason)
	}
}

// Reject implements Sink. Rejects are written in batches bounded by
// count and bytes; past the input's limits they are only counted.
func (s *sink) Reject(input []byte, reason error) {
	s.rejected++
	msg := "rejected"
	if reason != nil {
		msg = reason.Error()
	}
	if s.rejected == 1 {
		// A re-run reads one letter, whose line the parser numbers 1:
		// the reason without the parser's line number says it right.
		s.firstReject = msg
		if reason != nil {
			s.firstProblem, _ = i18n.Said(reason)
		}
		if _, ok := reason.(inputLiner); ok {
			if inner := errors.Unwrap(reason); inner != nil {
				s.firstReject = inner.Error()
				s.firstProblem, _ = i18n.Said(inner)
			}
		}
	}
	if !s.record || s.refused != nil {
		return
	}
	var liner inputLiner
	var line int64
	if errors.As(reason, &liner) {
		line = int64(liner.InputLine())
	}
	// The reason's message, when it says one itself: a reason that
	// wraps one without its own is kept in English, whole.
	problem, _ := i18n.Said(reason)
	if reason == nil {
		problem = i18n.M("pipeline.reject.none")
	}
	input, msg, problem = shorten(input, msg, problem)
	size := int64(len(input) + len(msg))
	if !s.admit(size) {
		s.refused.line = int(line)
		if s.counter != nil {
			s.refused.read = s.counter.lines()
		}
		s.refused.sample = sampleOf(input)
		return
	}
	s.rejects = append(s.rejects, store.DeadLetter{Feed: s.feed.Name, Parser: s.feed.ParserID,
		Source: s.source, Line: line, Input: bytes.Clone(input), Error: msg, Problem: problem, Time: s.r.env.Now()})
	s.pendingBytes += size
	if len(s.rejects) >= rejectBatchLetters || s.pendingBytes >= rejectBatchBytes {
		s.flushRejects()
	}
}

func (s *sink) flushRejects() {
	if len(s.rejects) == 0 || s.err != nil {
		return
	}
	// Letters stored already (the same file ingested again) are not
	// counted: the feed's count is of letters, not of attempts.
	added, err := s.r.env.Store.RecordDeadLetters(s.ctx, s.rejects)
	if err != nil {
		s.err = i18n.Wrap(err, "pipeline.deadletters.store")
		return
	}
	s.r.metrics.DeadLetters.WithLabelValues(s.feed.Name).Add(float64(added))
	s.stored += added
	// Cleared, not only cut: the backing array must not keep the inputs.
	clear(s.rejects)
	s.rejects = s.rejects[:0]
	s.pendingBytes = 0
}

func (s *sink) flush() {
	if len(s.batch) == 0 || s.err != nil {
		return
	}
	b := &Batch{Feed: s.feed.Name, Report: s.report, Run: s.run, Events: s.batch}
	s.batch = make([]*event.Event, 0, s.r.batchSize)
	if s.process != nil {
		s.r.metrics.Events.WithLabelValues(s.feed.Name, "parsed").Add(float64(len(b.Events)))
		if err := s.process(s.ctx, b); err != nil {
			s.err = err
		}
		return
	}
	p, err := s.r.transport.Publish(s.ctx, b)
	if err != nil {
		s.err = err
		return
	}
	s.r.metrics.Events.WithLabelValues(s.feed.Name, "parsed").Add(float64(len(b.Events)))
	s.pending = append(s.pending, p)
	if len(s.pending) >= maxInFlight {
		if err := s.pending[0].Wait(s.ctx); err != nil {
			s.err = err
		}
		s.pending = s.pending[1:]
	}
}

// finish flushes what is left and waits until everything is safe.
func (s *sink) finish(parseErr error) error {
	s.flush()
	for _, p := range s.pending {
		if err := p.Wait(s.ctx); err != nil && s.err == nil {
			s.err = err
		}
	}
	s.flushRejects()
	if parseErr != nil {
		return parseErr
	}
	return s.err
}

// lineCounter counts the lines a parser reads, for the feeds page, and
// keeps the first failure to read the input.
type lineCounter struct {
	r      io.Reader
	n      int64
	last   byte
	total  int64
	failed error
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.n += int64(bytes.Count(p[:n], []byte{'\n'}))
		c.last = p[n-1]
		c.total += int64(n)
	}
	if err != nil && !errors.Is(err, io.EOF) && c.failed == nil {
		c.failed = err
	}
	return n, err
}

// readReason is why an input could not be read, for a sentence that
// names the input already: the reason's own message if it says one (a
// collector's size limit), the system's reason without the operation
// and path an *fs.PathError repeats, else the library's text as it is
// (gzip's, a transport's).
func readReason(err error) any {
	if m, ok := i18n.Said(err); ok {
		return m
	}
	if reason, path := i18n.SystemReason(err); path != "" {
		return reason
	}
	return i18n.LowLevelReason(err)
}

func (c *lineCounter) lines() int64 {
	if c.total > 0 && c.last != '\n' {
		return c.n + 1
	}
	return c.n
}

// StoreCounter is the store output's way of telling how many events of a
// batch were new. It adds the batch's Count to its feed's totals with the
// batch (store.EventBatch.Count).
type StoreCounter interface {
	WriteCount(ctx context.Context, b *Batch) (int, error)
}

// Process enriches one batch and hands it to every output. It is the
// workers' handler and is safe for concurrent use. A permanent output
// failure sends the batch's events to the dead letters instead of failing
// forever.
func (r *Runner) Process(ctx context.Context, b *Batch) error {
	if b.Chunk != nil {
		return r.processChunk(ctx, b.Chunk)
	}
	start := time.Now()
	// The identity is fixed before any enricher adds to the event, so a
	// replay enriched from changed tables is still the same event. Events
	// of a parser that prepares them (chunks.Records) were sealed on its
	// workers and cost nothing here; the others are sealed here, on the
	// pipeline's workers, not on the parser's goroutine.
	for _, e := range b.Events {
		e.Seal()
	}
	b.ID = store.BatchID(b.Events)
	for _, en := range r.enrichers {
		if err := en.Enrich(ctx, b); err != nil {
			r.release(b)
			return fmt.Errorf("enrich batch of %s: %w", b.Feed, err)
		}
	}
	r.metrics.BatchSeconds.WithLabelValues("enrich").Observe(time.Since(start).Seconds())
	b.Count = &store.BatchCount{Key: store.FeedKey{Feed: b.Feed, Report: b.Report},
		Dropped: int64(b.Duplicates), LastEvent: newestSourceTime(b.Events)}
	inserted := -1
	for _, out := range r.outputs {
		t := time.Now()
		var err error
		if sc, ok := out.(StoreCounter); ok && inserted < 0 {
			inserted, err = sc.WriteCount(ctx, b)
		} else {
			err = out.Write(ctx, b)
		}
		if err != nil {
			if errors.Is(err, ErrPermanent) {
				if err := r.deadLetterBatch(ctx, b, err); err != nil {
					// Nothing is safe: the batch comes back, and its
					// events must not count as duplicates of themselves.
					r.release(b)
					return err
				}
				r.committed(b)
				return nil
			}
			r.release(b)
			return fmt.Errorf("output batch of %s: %w", b.Feed, err)
		}
		r.metrics.BatchSeconds.WithLabelValues("output").Observe(time.Since(t).Seconds())
	}
	r.committed(b)
	if inserted < 0 {
		// No store output counted the batch with it.
		inserted = len(b.Events)
		if err := r.env.Store.AddFeedCounters(ctx, b.Count.Key, b.Count.Counters(len(b.Events), inserted), time.Time{}, b.Count.LastEvent, "", i18n.Message{}); err != nil {
			return err
		}
	}
	dups := b.Duplicates + len(b.Events) - inserted
	r.metrics.Events.WithLabelValues(b.Feed, "stored").Add(float64(inserted))
	r.metrics.Duplicates.WithLabelValues(b.Feed).Add(float64(dups))
	if b.Run != 0 && r.runs != nil {
		// The history is a view of the counters above: a failure to
		// update it must not store the batch again.
		if err := r.runs.AddRunEvents(ctx, b.Run, int64(inserted), int64(dups)); err != nil {
			r.log.Warn("count a run's stored events", "feed", b.Feed, "run", b.Run, "err", err)
		}
	}
	return nil
}

// Releaser is an enricher holding claims for a batch (the deduplicator's
// keys) that it must give up when the batch fails, or the redelivered batch
// would look like a duplicate of itself.
type Releaser interface {
	Release(b *Batch)
}

// Committer is an enricher holding claims for a batch (the deduplicator's
// keys) only until the outputs are done with it: stored, or sent to the
// dead letters.
type Committer interface {
	Committed(b *Batch)
}

func (r *Runner) committed(b *Batch) {
	for _, en := range r.enrichers {
		if c, ok := en.(Committer); ok {
			c.Committed(b)
		}
	}
}

func (r *Runner) release(b *Batch) {
	for _, en := range r.enrichers {
		if rel, ok := en.(Releaser); ok {
			rel.Release(b)
		}
	}
}

func (r *Runner) deadLetterBatch(ctx context.Context, b *Batch, cause error) error {
	letters := make([]store.DeadLetter, 0, len(b.Events))
	problem, _ := i18n.Said(cause)
	for _, e := range b.Events {
		letters = append(letters, store.DeadLetter{Feed: b.Feed, Parser: "output",
			Input: e.AppendJSON(nil), Error: cause.Error(), Problem: problem, Time: r.env.Now()})
	}
	added, err := r.env.Store.RecordDeadLetters(ctx, letters)
	if err != nil {
		return fmt.Errorf("dead-letter batch of %s: %w", b.Feed, err)
	}
	r.metrics.DeadLetters.WithLabelValues(b.Feed).Add(float64(added))
	r.log.Warn("batch sent to dead letters", "feed", b.Feed, "report", b.Report, "events", len(letters), "err", cause)
	// The letters are safe; failing the batch now for want of a counter
	// would only write them again on its redelivery.
	key := store.FeedKey{Feed: b.Feed, Report: b.Report}
	if err := r.env.Store.AddFeedCounters(ctx, key, store.FeedCounters{DeadLetters: added}, time.Time{}, time.Time{}, "", i18n.Message{}); err != nil {
		r.log.Error("count dead-lettered batch", "feed", b.Feed, "report", b.Report, "err", err)
	}
	return nil
}

// InvalidUTF8Replaced implements InvalidUTF8Counter.
func (s *sink) InvalidUTF8Replaced(bytes int) {
	s.r.metrics.InvalidUTF8Replaced.WithLabelValues(s.feed.Name).Add(float64(bytes))
}
