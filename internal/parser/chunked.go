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
// in chunks on every core (package chunks): the one line reader numbers
// the lines as it always did, workers make each chunk's events and
// rejects, and the Parse goroutine hands them to the sink in input order,
// so the sink hears the same calls whatever the number of workers.
const (
	// chunkLines and chunkBytes bound one chunk: big enough that handing
	// it between goroutines costs little against reading it, small
	// enough that a few in flight stay a few megabytes.
	chunkLines = 512
	chunkBytes = 256 << 10
)

// chunking sizes the parallel reading of one input; the zero value is
// GOMAXPROCS workers and chunks of chunkLines lines.
type chunking struct {
	workers int
	lines   int
}

// lineChunk is a run of lines of one input and, once read, what each
// came to.
type lineChunk struct {
	text    []byte // the lines' bytes, back to back
	lines   []chunkLine
	results []chunkResult
}

// chunkLine is one line of a chunk: chunk.text[start:end], numbered n,
// with the line reader's complaint (a line too long) or nil.
type chunkLine struct {
	start, end, n int
	err           error
}

// chunkResult is what one line came to, and what its reading told apart
// from the event or reject: the lines that carry no data, the bytes of
// invalid UTF-8 replaced.
type chunkResult struct {
	lineResult
	notData       int
	replacedBytes int
	replaced      bool
}

// fillLines reads the next lines of lines into c. It returns more = false
// at the end of the input, and an error that ends it (a failed read) after
// the lines read before it.
func fillLines(lines *lineReader, c *lineChunk, maxLines int) (more bool, err error) {
	c.text = c.text[:0]
	c.lines = c.lines[:0]
	for len(c.lines) < maxLines && len(c.text) < chunkBytes {
		line, err := lines.next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil && !errors.Is(err, ErrLineTooLong) {
			return false, fmt.Errorf("read line %d: %w", lines.number, err)
		}
		start := len(c.text)
		c.text = append(c.text, line...)
		c.lines = append(c.lines, chunkLine{start: start, end: len(c.text), n: lines.number, err: err})
	}
	return true, nil
}

// eachLineInChunks reads the rest of lines as eachLineOf does, in chunks
// on several goroutines. newParse returns a line function with scratch of
// its own for one worker; it reports the lines without data to the sink
// it is given and must not change state the other workers read. header
// is the input's header line, if it has one, no longer changed.
func eachLineInChunks(ctx context.Context, lines *lineReader, sink pipeline.Sink, text *textTally, header *lineHeader,
	o chunking, newParse func(sink pipeline.Sink, header *lineHeader) lineFunc) error {
	maxLines := o.lines
	if maxLines <= 0 {
		maxLines = chunkLines
	}
	return chunks.Run(ctx, chunks.Options{Workers: o.workers}, chunks.Job[lineChunk]{
		New:  func() *lineChunk { return &lineChunk{} },
		Fill: func(c *lineChunk) (bool, error) { return fillLines(lines, c, maxLines) },
		NewWorker: func() func(*lineChunk) {
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
			return func(c *lineChunk) {
				c.results = c.results[:0]
				for _, l := range c.lines {
					bytes0, lines0 := tally.replacedBytes, tally.replacedLines
					r := chunkResult{lineResult: stepLine(l.n, c.text[l.start:l.end], l.err, tally, own, parse)}
					r.notData, counter.lines = counter.lines, 0
					r.replacedBytes = tally.replacedBytes - bytes0
					r.replaced = tally.replacedLines != lines0
					c.results = append(c.results, r)
				}
			}
		},
		Deliver: func(c *lineChunk) error {
			for _, r := range c.results {
				if text != nil {
					text.replacedBytes += r.replacedBytes
					if r.replaced {
						text.replacedLines++
					}
				}
				pipeline.NotData(sink, r.notData)
				if err := r.deliver(sink); err != nil {
					return err
				}
			}
			return nil
		},
	})
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
