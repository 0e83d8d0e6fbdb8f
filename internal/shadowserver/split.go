package shadowserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vigil-cert/vigil/internal/pipeline"
)

// Split implements pipeline.Splitter: a CSV report's header is read and
// checked here, and its rows go on in chunks under it, which a worker's
// Parse reads back row for row. A chunk holds only records the reader
// returned without a complaint: such a record's extent depends only on
// its own lines (a quoted cell's continuation lines are checked against
// the header's width, which the worker knows too), so the worker's reader,
// given the same lines, returns the same records. A record the reader
// complained of (a line too long, whose text it kept only the start of;
// a quote not closed, which it decided by lines read ahead that a chunk
// might cut off) is parsed here, into the dead letters, as Parse would,
// and the next chunk starts after it. A report in JSON is parsed here.
func (p *Parser) Split(ctx context.Context, in pipeline.Input, sink pipeline.Sink, records int, emit func(*pipeline.Chunk) error) error {
	report, br, isJSON, err := p.begin(in, sink)
	if err != nil {
		return err
	}
	if isJSON {
		return p.parseJSON(ctx, in, report, br, sink)
	}
	rr := newRecordReader(br)
	header, headerLine, pl, err := p.csvPlan(rr, in, report, sink)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	pl.rawHead = string(headerLine) + "\n"
	// The rows the reader complained of are made here, by the code a
	// worker's Parse would make them with.
	rows := &csvRows{plan: pl.forWorker(), header: header, cells: make([]string, 0, len(header))}

	head := []byte(pl.rawHead)
	headLines := 1 + bytes.Count(headerLine, []byte{'\n'})
	c := &pipeline.Chunk{Head: head}
	send := func() error {
		if c.Records == 0 {
			return nil
		}
		err := emit(c)
		c.Text, c.Records = c.Text[:0], 0
		if err == nil {
			err = ctx.Err()
		}
		return err
	}
	for {
		rec, line, err := rr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !isRowError(err) {
			// The stream failed, or the sink refused the input.
			return fmt.Errorf("shadowserver %s %q: %w", report.Type, in.Name, err)
		}
		if err != nil {
			if err := send(); err != nil {
				return err
			}
			res := rows.work(rec, line, err)
			if err := res.Deliver(sink); err != nil {
				return err
			}
			continue
		}
		if c.Records > 0 && len(c.Text)+len(rec)+1 > pipeline.MaxChunkBytes {
			if err := send(); err != nil {
				return err
			}
		}
		if c.Records == 0 {
			// The worker reads the header first: its lines come just
			// before the chunk's first record.
			c.FirstLine = line - headLines
		}
		c.Text = append(append(c.Text, rec...), '\n')
		c.Records++
		if c.Records >= records {
			if err := send(); err != nil {
				return err
			}
		}
	}
	return send()
}

var _ pipeline.Splitter = (*Parser)(nil)
