package chunks

import (
	"context"
	"io"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// A parser of independent records (the lines of a CSV file past its
// header, the rows of a Shadowserver report) reads them with Records: the
// one record reader splits the input as it always did, so record
// boundaries and line numbers are those of reading record by record;
// workers turn each record into a Result; and the caller's goroutine hands
// the results to the sink in input order, so the sink hears the same calls
// whatever the number of workers.
const (
	// ChunkRecords and chunkBytes bound one chunk: big enough that
	// handing it between goroutines costs little against parsing it,
	// small enough that a handful in flight stays a few megabytes.
	ChunkRecords = 512
	chunkBytes   = 256 << 10
	// keptRecordRoom is what a chunk of its own (Records.KeepText) has
	// beyond chunkBytes for the record that crosses it.
	keptRecordRoom = 16 << 10
)

// Records reads one input's records in chunks and hands what each came
// to to Sink.
type Records struct {
	Options
	// MaxRecords bounds the records of one chunk; 0 means ChunkRecords.
	// Tests set it low to cut small inputs into many chunks.
	MaxRecords int
	// KeepText gives each chunk's records memory of their own, never
	// reused for a later chunk nor written after the worker is handed
	// it: a worker may then keep a record's bytes in what it makes (as a
	// string, unsafe.String) instead of copying them, one allocation a
	// chunk instead of one a record. What it keeps holds the chunk's
	// memory for as long as it lives.
	KeepText bool
	// Next reads the next record: its bytes (valid until the next call),
	// the number of its line, and err. io.EOF (itself) ends the input; an
	// error Kept reports true for is the reader's complaint about this
	// record alone, handed to the worker with it; any other error ends
	// the input and Run returns it as it is, so Next words it.
	Next func() (rec []byte, line int, err error)
	Kept func(err error) bool
	// NewWorker returns the function one worker applies to each record,
	// with scratch state of its own: it must not change state another
	// worker reads.
	NewWorker func() func(rec []byte, line int, err error) Result
	// Sink hears every result, in input order, on the caller's goroutine.
	// A Sink that is a pipeline.Preparer prepares each event on the
	// worker that made it.
	Sink pipeline.Sink
	// EventError words an error of Sink.Event for the record at line;
	// nil returns it as it is.
	EventError func(line int, err error) error
}

// Result is what one record came to, in the order the sink hears it: the
// lines before it that carry no data, a warning, then an error that ends
// the input, a reject or an event (or none of them, for a blank line).
type Result struct {
	Line    int // the record's line, for EventError
	NotData int
	Warn    error
	Fatal   error
	Reject  []byte
	Reason  error // the reject's reason; a Result with one is a reject
	Event   *event.Event
	// ReplacedBytes counts the bytes invalid_utf8: replace repaired in
	// the record; Replaced says whether it had any.
	ReplacedBytes int
	Replaced      bool
}

// Deliver hands the result to sink; an error (Fatal, or the sink's own)
// stops the input.
func (r *Result) Deliver(sink pipeline.Sink) error {
	return r.deliver(sink, nil)
}

// DeliverWorded is Deliver with an error of sink.Event worded by
// eventError for the record's line, as Records.EventError words it.
func (r *Result) DeliverWorded(sink pipeline.Sink, eventError func(line int, err error) error) error {
	return r.deliver(sink, eventError)
}

func (r *Result) deliver(sink pipeline.Sink, eventError func(int, error) error) error {
	pipeline.NotData(sink, r.NotData)
	pipeline.Warn(sink, r.Warn)
	switch {
	case r.Fatal != nil:
		return r.Fatal
	case r.Reason != nil:
		sink.Reject(r.Reject, r.Reason)
	case r.Event != nil:
		if err := sink.Event(r.Event); err != nil {
			if eventError != nil {
				return eventError(r.Line, err)
			}
			return err
		}
	}
	return nil
}

// Repairs counts what invalid_utf8: replace repaired in the results
// handed on: bytes, and the records that had any.
type Repairs struct {
	Bytes, Records int
}

// recordChunk is a run of records of one input and, once worked, what
// each came to.
type recordChunk struct {
	text    []byte // the records' bytes, back to back
	records []record
	results []Result
}

// record is one record of a chunk: chunk.text[start:end], at line, with
// the reader's complaint about it or nil.
type record struct {
	start, end, line int
	err              error
}

// Run reads the input with r.Next, works on its records with r.Workers
// goroutines and hands the results to r.Sink in input order. It returns
// what was repaired in the results handed on, and the first error of
// Next, a result, the sink or the context.
func (r Records) Run(ctx context.Context) (Repairs, error) {
	maxRecords := r.MaxRecords
	if maxRecords <= 0 {
		maxRecords = ChunkRecords
	}
	var repairs Repairs
	err := Run(ctx, r.Options, Job[recordChunk]{
		New:  func() *recordChunk { return &recordChunk{} },
		Fill: func(c *recordChunk) (bool, error) { return r.fill(c, maxRecords) },
		NewWorker: func() func(*recordChunk) {
			work := r.NewWorker()
			prepare, _ := r.Sink.(pipeline.Preparer)
			return func(c *recordChunk) {
				c.results = c.results[:0]
				for _, rec := range c.records {
					res := work(c.text[rec.start:rec.end:rec.end], rec.line, rec.err)
					if res.Event != nil && res.Fatal == nil && res.Reason == nil && prepare != nil {
						prepare.Prepare(res.Event)
					}
					c.results = append(c.results, res)
				}
			}
		},
		Deliver: func(c *recordChunk) error {
			for i := range c.results {
				res := &c.results[i]
				repairs.Bytes += res.ReplacedBytes
				if res.Replaced {
					repairs.Records++
				}
				if err := res.deliver(r.Sink, r.EventError); err != nil {
					return err
				}
			}
			return nil
		},
	})
	return repairs, err
}

// fill reads the next records into c. It returns more = false at the end
// of the input, and an error that ends it (a failed read) after the
// records read before it.
func (r Records) fill(c *recordChunk, maxRecords int) (more bool, err error) {
	if r.KeepText {
		// Room for a chunk and the record that ends it, as a rule; a
		// longer one grows the text, before any worker sees it.
		c.text = make([]byte, 0, chunkBytes+keptRecordRoom)
	}
	c.text = c.text[:0]
	c.records = c.records[:0]
	for len(c.records) < maxRecords && len(c.text) < chunkBytes {
		rec, line, err := r.Next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil && !r.Kept(err) {
			return false, err
		}
		start := len(c.text)
		c.text = append(c.text, rec...)
		c.records = append(c.records, record{start: start, end: len(c.text), line: line, err: err})
	}
	return true, nil
}
