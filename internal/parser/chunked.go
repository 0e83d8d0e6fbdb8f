package parser

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/parser/chunks"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// A large input of independent lines (a CSV file past its header) is read
// in chunks on every core (chunks.Records): the one line reader numbers
// the lines as it always did, workers make each line's event or reject,
// and the Parse goroutine hands them to the sink in input order, so the
// sink hears the same calls whatever the number of workers.

// chunking sizes the parallel reading of one input; the zero value is
// GOMAXPROCS workers and chunks of chunks.ChunkRecords lines.
type chunking struct {
	workers int
	lines   int
}

// eachLineInChunks reads the rest of lines as eachLineOf does, in chunks
// on several goroutines. newParse returns a line function with scratch of
// its own for one worker; it reports the lines without data to the sink
// it is given and must not change state the other workers read. header
// is the input's header line, if it has one, no longer changed.
func eachLineInChunks(ctx context.Context, lines *lineReader, sink pipeline.Sink, text *textTally, header *lineHeader,
	o chunking, newParse func(sink pipeline.Sink, header *lineHeader) lineFunc) error {
	repairs, err := chunks.Records{
		Options:    chunks.Options{Workers: o.workers},
		MaxRecords: o.lines,
		Next: func() ([]byte, int, error) {
			line, err := lines.next()
			if err != nil && err != io.EOF && !errors.Is(err, ErrLineTooLong) {
				err = fmt.Errorf("read line %d: %w", lines.number, err)
			}
			return line, lines.number, err
		},
		Kept: func(err error) bool { return errors.Is(err, ErrLineTooLong) },
		NewWorker: func() func([]byte, int, error) chunks.Result {
			var counter dataLineCounter
			var own *lineHeader
			if header != nil {
				own = &lineHeader{line: header.line}
			}
			tally := &textTally{}
			if text != nil {
				tally.text = text.text
			}
			parse := newParse(&counter, own)
			return func(line []byte, n int, readErr error) chunks.Result {
				bytes0, lines0 := tally.replacedBytes, tally.replacedLines
				r := stepLine(n, line, readErr, tally, own, parse)
				r.NotData, counter.lines = counter.lines, 0
				r.ReplacedBytes = tally.replacedBytes - bytes0
				r.Replaced = tally.replacedLines != lines0
				return r
			}
		},
		Sink: sink,
	}.Run(ctx)
	if text != nil {
		text.replacedBytes += repairs.Bytes
		text.replacedLines += repairs.Records
	}
	return err
}

// dataLineCounter is the sink a worker's line function is given: it
// counts the lines said to carry no data, for the chunk's results. The
// line functions call nothing else on it.
type dataLineCounter struct{ lines int }

func (c *dataLineCounter) NotData(lines int) { c.lines += lines }
func (c *dataLineCounter) Event(*event.Event) error {
	return errors.New("parser: event sent to a line counter")
}
func (c *dataLineCounter) Reject(_ []byte, _ error) {}
