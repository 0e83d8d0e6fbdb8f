package shadowserver

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/parser/chunks"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// A CSV report's rows are parsed in chunks on every core (package chunks):
// the one record reader splits the input, as it always did, so quoting,
// multi-line cells and line numbers are exactly those of reading row by
// row; workers make each chunk's events and rejects; and the Parse
// goroutine hands them to the sink in input order, so the sink sees the
// same calls in the same order whatever the number of workers.
const (
	// chunkRecords and chunkBytes bound one chunk: big enough that
	// handing a chunk between goroutines costs little against parsing
	// it, small enough that a handful in flight stays a few megabytes.
	chunkRecords = 512
	chunkBytes   = 256 << 10
)

// csvChunk is a run of records of one input and, once worked, what each
// record became.
type csvChunk struct {
	text     []byte      // the records' text, back to back
	records  []csvRecord // in input order
	outcomes []rowOutcome
}

// csvRecord is one record of a chunk: its text is chunk.text[start:end].
type csvRecord struct {
	start, end int
	line       int
	// err is the reader's complaint about the record (a line too long, a
	// quote not closed); the record then goes to the dead letters.
	err error
}

// rowOutcome is what one record became, in the order the sink hears it:
// a warning, then an event or a reject (or neither, for a blank line).
type rowOutcome struct {
	line   int
	warn   error
	event  *event.Event
	reject []byte
	reason error
	// replacedBytes counts the bytes invalid_utf8: replace repaired in
	// the row; replaced says whether it had any.
	replacedBytes int
	replaced      bool
}

// fillChunk reads the next records of rr into c. It returns more = false at
// the end of the input, and an error that ends the input (the stream
// failed, or the sink refused the input) after the records read before
// it.
func fillChunk(rr *recordReader, c *csvChunk, maxRecords int) (more bool, err error) {
	c.text = c.text[:0]
	c.records = c.records[:0]
	for len(c.records) < maxRecords && len(c.text) < chunkBytes {
		rec, line, err := rr.next()
		if err != nil && !isRowError(err) {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, err
		}
		start := len(c.text)
		c.text = append(c.text, rec...)
		c.records = append(c.records, csvRecord{start: start, end: len(c.text), line: line, err: err})
	}
	return true, nil
}

// isRowError reports whether err, from the record reader, is about its
// record alone (a line too long, a quote not closed): the record goes to
// the dead letters and reading goes on.
func isRowError(err error) bool {
	if errors.Is(err, errUnclosedQuote) {
		return true
	}
	var tooLong *lineTooLongError
	return errors.As(err, &tooLong)
}

// parseCSVRows reads the rows of a CSV report after its header, with
// plan compiled for the header.
func (p *Parser) parseCSVRows(ctx context.Context, in pipeline.Input, report *Report, rr *recordReader,
	pl *plan, header []string, headerLine []byte, sink pipeline.Sink) error {
	var readErr, sinkErr error
	maxRecords := p.chunkRecords
	if maxRecords <= 0 {
		maxRecords = chunkRecords
	}
	err := chunks.Run(ctx, chunks.Options{Workers: p.workers}, chunks.Job[csvChunk]{
		New: func() *csvChunk { return &csvChunk{} },
		Fill: func(c *csvChunk) (bool, error) {
			more, err := fillChunk(rr, c, maxRecords)
			readErr = err
			return more, err
		},
		NewWorker: func() func(*csvChunk) {
			rows := &csvRows{plan: pl.forWorker(), header: header, headerLine: headerLine,
				cells: make([]string, 0, len(header))}
			return rows.work
		},
		Deliver: func(c *csvChunk) error {
			for i := range c.outcomes {
				o := &c.outcomes[i]
				pl.replacedBytes += o.replacedBytes
				if o.replaced {
					pl.replacedRows++
				}
				pipeline.Warn(sink, o.warn)
				if o.reason != nil {
					sink.Reject(o.reject, o.reason)
				}
				if o.event == nil {
					continue
				}
				if err := sink.Event(o.event); err != nil {
					sinkErr = fmt.Errorf("shadowserver %s %q line %d: %w", report.Type, in.Name, o.line, err)
					return sinkErr
				}
			}
			return nil
		},
	})
	switch {
	case err == nil, errors.Is(err, sinkErr):
		return err
	case readErr != nil && errors.Is(err, readErr):
		return fmt.Errorf("shadowserver %s %q: %w", report.Type, in.Name, err)
	}
	return err
}

// csvRows makes events of a CSV report's rows under its header; each
// worker has its own.
type csvRows struct {
	plan       *plan
	header     []string
	headerLine []byte
	cells      []string // reused from row to row
}

// work makes the outcome of every record of c.
func (r *csvRows) work(c *csvChunk) {
	c.outcomes = c.outcomes[:0]
	for _, rec := range c.records {
		bytes0, rows0 := r.plan.replacedBytes, r.plan.replacedRows
		o := r.read(c.text[rec.start:rec.end], rec.line, rec.err)
		o.line = rec.line
		o.replacedBytes = r.plan.replacedBytes - bytes0
		o.replaced = r.plan.replacedRows != rows0
		c.outcomes = append(c.outcomes, o)
	}
}

// reject sends a bad row to the dead letters. It carries the header with
// its row, as raw does: an analyst reading the dead letter sees the column
// names, and a re-run parses it on its own.
func (r *csvRows) reject(o rowOutcome, rec []byte, err error) rowOutcome {
	letter := make([]byte, 0, len(r.headerLine)+1+len(rec))
	o.reject = append(append(append(letter, r.headerLine...), '\n'), rec...)
	o.reason = err
	return o
}

// column names the header's column at index i, "" past its end.
func (r *csvRows) column(i int) string {
	if i < len(r.header) {
		return r.header[i]
	}
	return ""
}

// read makes the outcome of the record rec at line, which the reader
// returned with readErr (a line too long, a quote not closed, or nil). A
// row that cannot be read goes to the dead letters and gives no event.
func (r *csvRows) read(rec []byte, line int, readErr error) rowOutcome {
	var o rowOutcome
	switch {
	case readErr != nil && !errors.Is(readErr, errUnclosedQuote): // a line too long
		return r.reject(o, rec, &RowError{Line: line, Err: readErr})
	case readErr != nil:
		// The line where the quote opened, alone: the lines after it
		// are read again as rows of their own.
		_, bad, _ := splitRecord(r.cells[:0], string(rec))
		return r.reject(o, rec, &RowError{Line: line, Column: r.column(bad), Err: readErr})
	case len(rec) == 0:
		return o
	}
	// One string for the whole record: cells are substrings of it, so
	// the event's values share a single allocation.
	cells, bad, err := splitRecord(r.cells[:0], string(rec))
	r.cells = cells
	if err != nil {
		return r.reject(o, rec, &RowError{Line: line, Column: r.column(bad), Err: err})
	}
	if len(cells) != len(r.header) {
		var ok bool
		if r.cells, o.warn, ok = fitRow(cells, len(r.header), line); !ok {
			return r.reject(o, rec, &RowError{Line: line, Err: fmt.Errorf("%d cells, the header has %d columns, and the surplus cells are not empty", len(cells), len(r.header))})
		}
	}
	e, err := r.plan.build(r.cells, rec, line)
	if err != nil {
		return r.reject(o, rec, err)
	}
	o.event = e
	return o
}

// fitRow reads a ragged row as IntelMQ does. A row short of cells (some
// Shadowserver reports leave out trailing empty cells) is read with the
// missing cells empty; a row with surplus cells that are all empty is read
// without them. Both are warnings for the feed's count. A row whose
// surplus cells hold something cannot be placed: ok is false and the row
// goes to the dead letters.
func fitRow(cells []string, width, line int) (_ []string, warning error, ok bool) {
	n := len(cells)
	if n < width {
		for len(cells) < width {
			cells = append(cells, "")
		}
		return cells, &RowError{Line: line, Err: fmt.Errorf("%d cells, the header has %d columns: the missing trailing cells were read as empty", n, width)}, true
	}
	for _, c := range cells[width:] {
		if c != "" {
			return cells, nil, false
		}
	}
	return cells[:width], &RowError{Line: line, Err: fmt.Errorf("%d cells, the header has %d columns: the %d surplus empty cells were left out", n, width, n-width)}, true
}
