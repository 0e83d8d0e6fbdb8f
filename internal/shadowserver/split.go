package shadowserver

import (
	"bufio"
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
		if c.Records > 0 && len(c.Text)+len(rec)+2 > pipeline.MaxChunkBytes {
			if err := send(); err != nil {
				return err
			}
		}
		if c.Records == 0 {
			// The worker reads the header first: its lines come just
			// before the chunk's first record.
			c.FirstLine = line - headLines
		}
		c.Text = appendRecord(c.Text, rec)
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

// appendRecord appends a record the reader returned, and a line break the
// worker's reader takes off again (trimEOL), to a chunk's text. The
// reader takes one line break off a line, "\n" or "\r\n" (as
// encoding/csv does), so a record may end in a carriage return of its
// own (a line ending in CR CR LF, or in CR at the end of the input): it
// goes on with "\r\n", of which the worker takes off only the line
// break, where "\n" would lose the record's carriage return too, and
// with it the event's raw and hash would depend on the transport.
func appendRecord(text, rec []byte) []byte {
	text = append(text, rec...)
	if len(rec) > 0 && rec[len(rec)-1] == '\r' {
		text = append(text, '\r')
	}
	return append(text, '\n')
}

// ParseChunk implements pipeline.ChunkParser. A chunk's records end
// with its line breaks; when there are no more line breaks than records,
// each record is one line, which a reader of the chunk's input returns
// without its line break (trimEOL). The rows are then taken where they
// lie, in the chunk's memory (events keep their cells and raw as parts
// of it), and made on this goroutine, one after the other, as
// chunks.Records' workers make them. A chunk with a record over several
// lines (a quoted cell with a line break) is read by Parse, whose reader
// tells them apart. Both make what Parse makes of the chunk's input, so
// a chunk makes the same batch whichever way, and whichever version, of
// the worker parses it. The line breaks are found in one pass, before
// anything is told to the sink (lineEnds), and the rows cut at them;
// what is read of the head is kept for the next chunks under it
// (chunkPlans).
func (p *Parser) ParseChunk(ctx context.Context, c *pipeline.Chunk, sink pipeline.Sink) error {
	r := p.chunkPlans.reader(p, c.Name, c.Head)
	if r == nil && p.formatOf(c.Name, bufio.NewReaderSize(bytes.NewReader(c.Head), 512)) != formatCSV {
		// Parse would read it as JSON (this worker's format option is
		// not the publisher's): so be it.
		return p.Parse(ctx, c.Input(), sink)
	}
	var ends []int
	if r != nil {
		ends = r.ends[:0]
	}
	ends, oneLine := lineEnds(ends, c.Text, c.Records)
	if !oneLine {
		if r != nil {
			r.ends = ends
			p.chunkPlans.put(r)
		}
		return p.Parse(ctx, c.Input(), sink)
	}
	var pl *chunkPlan
	if r == nil {
		var err error
		if pl, err = p.readChunkPlan(c, sink); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		r = p.chunkPlans.add(pl)
	} else {
		pl = r.from
		pipeline.SetReport(sink, pl.report.FeedName)
		pipeline.NotData(sink, pl.headLines)
	}
	r.ends = ends
	defer p.chunkPlans.put(r)
	in := pipeline.Input{Feed: c.Feed, Name: c.Name, FirstLine: c.FirstLine}
	plan := r.begin(sink)
	defer p.reportReplaced(sink, in, plan)
	prepare, _ := sink.(pipeline.Preparer)
	eventError := func(line int, err error) error {
		return fmt.Errorf("shadowserver %s %q line %d: %w", pl.report.Type, in.Name, line, err)
	}
	line := max(c.FirstLine-1, 0) + pl.headLines
	start := 0
	for _, end := range ends {
		if line%ctxCheckRows == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec := trimEOL(c.Text[start:end:end])
		start = end
		line++
		res := r.rows.work(rec, line, nil)
		if res.Event != nil && res.Fatal == nil && res.Reason == nil && prepare != nil {
			prepare.Prepare(res.Event)
		}
		plan.replacedBytes += res.ReplacedBytes
		if res.Replaced {
			plan.replacedRows++
		}
		if err := res.DeliverWorded(sink, eventError); err != nil {
			return err
		}
	}
	return nil
}

// ctxCheckRows is how often ParseChunk looks at its context, in rows.
const ctxCheckRows = 256

var _ pipeline.ChunkParser = (*Parser)(nil)
