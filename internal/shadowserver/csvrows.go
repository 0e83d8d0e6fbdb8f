package shadowserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/vigil-cert/vigil/internal/parser/chunks"
	"github.com/vigil-cert/vigil/internal/pipeline"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// A CSV report's rows are parsed in chunks on every core (chunks.Records):
// the one record reader splits the input, as it always did, so quoting,
// multi-line cells and line numbers are exactly those of reading row by
// row; workers make each row's event or reject; and the Parse goroutine
// hands them to the sink in input order, so the sink sees the same calls
// in the same order whatever the number of workers.

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
	pl *plan, header []string, sink pipeline.Sink) error {
	repairs, err := chunks.Records{
		Options:    chunks.Options{Workers: p.workers},
		MaxRecords: p.chunkRecords,
		KeepText:   true,
		Next: func() ([]byte, int, error) {
			rec, line, err := rr.next()
			if err != nil && !isRowError(err) {
				if errors.Is(err, io.EOF) {
					return nil, line, io.EOF
				}
				// The stream failed, or the sink refused the input.
				return nil, line, fmt.Errorf("shadowserver %s %q: %w", report.Type, in.Name, err)
			}
			return rec, line, err
		},
		Kept: isRowError,
		NewWorker: func() func([]byte, int, error) chunks.Result {
			rows := &csvRows{plan: pl.forWorker(), header: header, cells: make([]string, 0, len(header))}
			return rows.work
		},
		Sink: sink,
		EventError: func(line int, err error) error {
			return fmt.Errorf("shadowserver %s %q line %d: %w", report.Type, in.Name, line, err)
		},
	}.Run(ctx)
	pl.replacedBytes += repairs.Bytes
	pl.replacedRows += repairs.Records
	return err
}

// csvRows makes events of a CSV report's rows under its header; each
// worker has its own.
type csvRows struct {
	plan   *plan
	header []string
	cells  []string // reused from row to row
}

// work makes the result of the record rec at line, which the reader
// returned with readErr.
func (r *csvRows) work(rec []byte, line int, readErr error) chunks.Result {
	bytes0, rows0 := r.plan.replacedBytes, r.plan.replacedRows
	o := r.read(rec, line, readErr)
	o.Line = line
	o.ReplacedBytes = r.plan.replacedBytes - bytes0
	o.Replaced = r.plan.replacedRows != rows0
	return o
}

// reject sends a bad row to the dead letters. It carries the header with
// its row, as raw does: an analyst reading the dead letter sees the column
// names, and a re-run parses it on its own. The header line is the plan's
// raw head; a plan without one (no header line) still starts the letter
// with an empty line, so that a letter's row is always its second line.
func (r *csvRows) reject(o chunks.Result, rec []byte, err error) chunks.Result {
	head := r.plan.rawHead
	if head == "" {
		head = "\n"
	}
	o.Reject = append(append(make([]byte, 0, len(head)+len(rec)), head...), rec...)
	o.Reason = err
	return o
}

// column names the header's column at index i, "" past its end.
func (r *csvRows) column(i int) string {
	if i < len(r.header) {
		return r.header[i]
	}
	return ""
}

// read makes the result of the record rec at line, which the reader
// returned with readErr (a line too long, a quote not closed, or nil). A
// row that cannot be read goes to the dead letters and gives no event.
func (r *csvRows) read(rec []byte, line int, readErr error) chunks.Result {
	var o chunks.Result
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
	// The record as a string, over the chunk's own memory
	// (chunks.Records.KeepText), not a copy: cells are substrings of it,
	// so the event's values share the chunk's allocation, and raw is the
	// same string.
	text := unsafe.String(unsafe.SliceData(rec), len(rec))
	cells, bad, err := splitRecord(r.cells[:0], text)
	r.cells = cells
	if err != nil {
		return r.reject(o, rec, &RowError{Line: line, Column: r.column(bad), Err: err})
	}
	if len(cells) != len(r.header) {
		var ok bool
		if r.cells, o.Warn, ok = fitRow(cells, len(r.header), line); !ok {
			return r.reject(o, rec, &RowError{Line: line, Err: i18n.NewError("shadowserver.reason.cells.surplus", len(cells), len(r.header))})
		}
	}
	e, err := r.plan.build(r.cells, rec, text, line)
	if err != nil {
		return r.reject(o, rec, err)
	}
	o.Event = e
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
		return cells, &RowError{Line: line, Err: i18n.NewError("shadowserver.reason.cells.short", n, width)}, true
	}
	for _, c := range cells[width:] {
		if c != "" {
			return cells, nil, false
		}
	}
	return cells[:width], &RowError{Line: line, Err: i18n.NewError("shadowserver.reason.cells.empty", n, width, n-width)}, true
}
