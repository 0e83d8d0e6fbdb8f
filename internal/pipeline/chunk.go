package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// An input whose parser can cut it into runs of records (a Splitter:
// Shadowserver's CSV reports) goes over a transport that carries such
// runs (a ChunkTransport: the bus) as Chunks, unparsed, and the workers
// parse each with the feed's parser, as Deliver would have, before they
// enrich and store its events. A chunk of the input's rows is a third of
// the bytes of the batch of events made of it once both are compressed,
// and costs a sixth of the CPU to compress and decompress; the batch
// form's encoding and decoding go (docs/PERFORMANCE.md, issue 14,
// eighteenth session).
//
// The decisions a reader needs to know:
//
//   - A chunk makes the same events whenever it is parsed: it carries the
//     input's time.observation (Chunk.Observed) and the number of its
//     first line, and it holds whole records only, each of which a
//     worker's reader reads back as the same record. Its events are one
//     batch, whatever the worker's batch size. So a chunk delivered again
//     (a worker killed before it acknowledged) makes a batch of the same
//     ID, and the store recognises it (store.BatchID).
//   - A worker's parser that can take a chunk's records where they lie
//     (a ChunkParser: Shadowserver's, when each record is one line) reads
//     them in the chunk's own memory, on the worker's goroutine: no reader
//     splits them a second time, nothing is copied, and its events keep
//     their text as parts of the chunk. Others read the chunk's Input.
//   - The publisher reads what concerns the input as a whole (its report
//     type, its header): an input that cannot be used fails Deliver, as
//     before. It counts the input's lines. The workers count the events,
//     the dead letters and the warnings of each chunk.
//   - The dead-letter limits (DeadLetterLimits) bound what the workers
//     of one process write for one input (letterBudget): a chunk that
//     passes them is refused from the reject that did as one letter, and
//     so is every later chunk of the input that has a reject. No process
//     sees the whole input, so an input of nothing but junk writes the
//     limit's letters and one letter a chunk after them, and the rows
//     of its good chunks are stored, where parsed in one place it is
//     refused whole after the limit.

// Chunk is a run of an input's records carried to a worker unparsed.
type Chunk struct {
	Feed   string
	Report string
	// Name is the input's (Input.Name): a parser may read its report type
	// from it.
	Name string
	Run  int64
	// Observed is time.observation of the input's events: the
	// publisher's clock when it began the input, so that a chunk parsed
	// again makes the same events.
	Observed string
	// Head is what the parser reads before Text: a CSV report's header
	// record and its line break.
	Head []byte
	// FirstLine is the number of Head's first line, chosen so that
	// Text's lines have their numbers in the whole input.
	FirstLine int
	// Text is the records, each with its line break.
	Text []byte
	// Records counts Text's records.
	Records int
}

// Input is the input a worker's parser reads for c: its head, then its
// text, numbered from FirstLine.
func (c *Chunk) Input() Input {
	return Input{Feed: c.Feed, Name: c.Name, Body: io.MultiReader(bytes.NewReader(c.Head), bytes.NewReader(c.Text)), FirstLine: c.FirstLine}
}

// ChunkParser is a parser that reads a chunk from its text, without the
// reader Parse would read its Input with: a Splitter's chunk holds whole
// records, so a parser that can tell where each ends (each is one line)
// can take them where they lie. The transport gives a worker a chunk in
// memory of its own, which nothing writes again: the events may keep
// parts of Head and Text instead of copies.
type ChunkParser interface {
	// ParseChunk tells sink what Parse would of c.Input().
	ParseChunk(ctx context.Context, c *Chunk, sink Sink) error
}

// Splitter is a parser that can hand on an input's records in chunks
// for the workers to parse, instead of parsing them.
type Splitter interface {
	Parser
	// Split reads in as Parse does as far as the input as a whole is
	// concerned (its report type, its header: what fails there fails the
	// input, and the lines before the header are told to sink), then
	// hands its records to emit in input order, in chunks of at most
	// records records and about MaxChunkBytes bytes, whose records a
	// worker's Parse reads back as the same records with the same line
	// numbers. A record it could not carry so (a line too long, a quote
	// not closed) it parses itself into sink, as Parse would. An input
	// it cannot split it parses into sink, as Parse does. emit must not
	// keep the chunk, nor its slices, once it returned.
	Split(ctx context.Context, in Input, sink Sink, records int, emit func(c *Chunk) error) error
}

// MaxChunkBytes bounds a chunk's text: a record longer than what is left
// of it ends the chunk before it (a record is at most a few MiB).
const MaxChunkBytes = 4 << 20

// ChunkTransport is a transport that carries chunks to the workers,
// whose handler gets each as a Batch with Chunk set.
type ChunkTransport interface {
	Transport
	PublishChunk(ctx context.Context, c *Chunk) (Pending, error)
}

// parse reads in for Deliver: split into chunks when the transport
// carries them and the feed's parser splits, else parsed into s.
func (r *Runner) parse(ctx context.Context, f *Feed, in Input, s *sink) error {
	ct, carries := r.transport.(ChunkTransport)
	sp, splits := f.Parser.(Splitter)
	if !carries || !splits {
		return f.Parser.Parse(ctx, in, s)
	}
	return sp.Split(ctx, in, s, r.batchSize, func(c *Chunk) error { return s.publishChunk(ct, c) })
}

// publishChunk hands a chunk of the input on, bounding those in flight
// as flush does batches. A chunk's records count as parsed: they are
// the input's events and dead letters, which the workers tell apart.
func (s *sink) publishChunk(ct ChunkTransport, c *Chunk) error {
	if s.err != nil {
		return s.err
	}
	if s.refused != nil {
		return ErrInputRefused
	}
	// Events the parser made itself go first: a Splitter makes none
	// while it splits, so this keeps the order only in principle.
	s.flush()
	if s.err != nil {
		return s.err
	}
	c.Feed, c.Report, c.Run, c.Name, c.Observed = s.feed.Name, s.report, s.run, s.source, s.now
	p, err := ct.PublishChunk(s.ctx, c)
	if err != nil {
		s.err = err
		return err
	}
	s.parsed += int64(c.Records)
	s.pending = append(s.pending, p)
	if len(s.pending) >= maxInFlight {
		if err := s.pending[0].Wait(s.ctx); err != nil {
			s.err = err
		}
		s.pending = s.pending[1:]
	}
	return s.err
}

// processChunk is Process for a chunk: it parses the chunk with its
// feed's parser, processing its events as one batch once it is parsed, and
// writes the chunk's dead letters. It fails, for the chunk to come
// again, only when a batch or a letter could not be made safe: a chunk
// that does not parse is one dead letter.
func (r *Runner) processChunk(ctx context.Context, c *Chunk) error {
	f, ok := r.Feed(c.Feed)
	if !ok {
		// Another worker, configured with the feed, may take it.
		return i18n.NewError("pipeline.deliver.nofeed", c.Name, c.Feed)
	}
	s := r.newSink(ctx, f, true)
	s.now, s.labels = c.Observed, feedLabels(f, c.Observed)
	s.withHash = withHash(s.labels)
	s.source, s.run, s.report = c.Name, c.Run, c.Report
	s.process = r.Process
	s.budget = r.budgets.of(c)
	var parseErr error
	if cp, ok := f.Parser.(ChunkParser); ok {
		parseErr = cp.ParseChunk(ctx, c, s)
	} else {
		parseErr = f.Parser.Parse(ctx, c.Input(), s)
	}
	if s.refused != nil {
		parseErr = nil
	}
	if parseErr != nil {
		// The chunk goes to the dead letters whole: the events made of
		// it before the parser failed are not stored apart from it.
		clear(s.batch)
		s.batch = s.batch[:0]
	}
	if err := s.finish(nil); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var letters []store.DeadLetter
	if parseErr != nil {
		// The publisher read the input as a whole; a chunk of it that
		// does not parse here will not parse when it comes again.
		said, _ := i18n.Said(parseErr)
		input, msg, problem := shorten(append(bytes.Clone(c.Head), c.Text...), parseErr.Error(), said)
		letters = append(letters, store.DeadLetter{Feed: f.Name, Parser: f.ParserID, Source: c.Name,
			Line: int64(c.FirstLine), Input: input, Error: msg, Problem: problem, Time: r.env.Now()})
		r.log.Warn("chunk sent to dead letters", "feed", f.Name, "input", c.Name, "line", c.FirstLine, "err", parseErr)
	}
	if s.refused != nil {
		last := int64(c.FirstLine) + int64(bytes.Count(c.Head, newline)+bytes.Count(c.Text, newline)) - 1
		letter, _, _ := s.refusalLetter(last, true)
		letters = append(letters, letter)
		r.log.Warn("chunk refused", "feed", f.Name, "input", c.Name, "reason", letter.Error)
	}
	if len(letters) > 0 {
		added, err := r.env.Store.RecordDeadLetters(ctx, letters)
		if err != nil {
			return fmt.Errorf("dead letters of a chunk of %s: %w", c.Name, err)
		}
		s.stored += added
		r.metrics.DeadLetters.WithLabelValues(f.Name).Add(float64(added))
	}
	if s.stored == 0 && s.warnings == 0 {
		return nil
	}
	key := store.FeedKey{Feed: f.Name, Report: s.report}
	counters := store.FeedCounters{DeadLetters: s.stored, Warnings: s.warnings}
	return r.env.Store.AddFeedCounters(ctx, key, counters, time.Time{}, time.Time{}, "", i18n.Message{})
}

var newline = []byte{'\n'}

// letterBudget is what the chunks of one input parsed in this process
// wrote against the dead-letter limits.
type letterBudget struct {
	mu      sync.Mutex
	letters int
	bytes   int64
}

// admit is sink.admit against the input's budget: it counts a reject of
// size bytes, or refuses the chunk when it would pass a limit.
func (b *letterBudget) admit(s *sink, size int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	s.refused = s.r.limits.admit(&b.letters, &b.bytes, size)
	return s.refused == nil
}

// letterBudgets holds the budgets of the last maxBudgets inputs whose
// chunks were parsed here: an input's chunks come close together, and
// one whose budget was let go only starts a new one.
type letterBudgets struct {
	mu      sync.Mutex
	budgets map[budgetKey]*letterBudget
	order   []budgetKey
}

const maxBudgets = 256

// budgetKey names an input: its feed, name, run and time.observation
// (the same file delivered again is another input).
type budgetKey struct {
	feed, name, observed string
	run                  int64
}

func (bs *letterBudgets) of(c *Chunk) *letterBudget {
	key := budgetKey{c.Feed, c.Name, c.Observed, c.Run}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if b, ok := bs.budgets[key]; ok {
		return b
	}
	if bs.budgets == nil {
		bs.budgets = map[budgetKey]*letterBudget{}
	}
	if len(bs.order) >= maxBudgets {
		delete(bs.budgets, bs.order[0])
		bs.order = bs.order[1:]
	}
	b := &letterBudget{}
	bs.budgets[key] = b
	bs.order = append(bs.order, key)
	return b
}
