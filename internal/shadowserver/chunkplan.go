package shadowserver

import (
	"bytes"
	"sync"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// The chunks of one input all come under one head (its header line) and
// name, and a worker parses them one after the other: what ParseChunk
// reads of the head (the report type, the header's checks, the compiled
// plan) is the same for each of them. chunkPlans keeps it for the last
// few heads, with the scratch of the workers that parsed their chunks
// (a plan's per-row buffers, the line ends of a chunk), so that a chunk
// costs no compilation and no allocation of its own beyond its events.

// chunkPlan is what ParseChunk read of one head under one name, and the
// idle readers of chunks under it.
type chunkPlan struct {
	parser     *Parser
	name, head string
	report     *Report
	header     []string
	// headLines is how many lines the head takes, told to the sink as
	// lines without data, as reading the head told them.
	headLines int
	// plan is compiled for the header, its rawHead set; its copies
	// (forWorker) read chunks.
	plan *plan
	idle []*chunkReader
}

// chunkReader is one worker's scratch for reading a chunk: a copy of the
// plan and the row reader over it, and the chunk's line ends. It is
// used by one ParseChunk at a time.
type chunkReader struct {
	from *chunkPlan
	rows csvRows
	ends []int
}

// chunkPlans holds the chunkPlans of the last maxChunkPlans heads, the
// most recently used first. A head whose plan was let go is read again.
type chunkPlans struct {
	mu    sync.Mutex
	plans []*chunkPlan
}

const (
	// maxChunkPlans bounds the heads kept: a worker takes the chunks of
	// a few inputs at a time (one an input's feed, while its publisher
	// splits it).
	maxChunkPlans = 8
	// maxIdleReaders bounds the idle readers of a head: one a pipeline
	// worker that parses its chunks at the same time.
	maxIdleReaders = 4
)

// reader returns a reader of chunks under head and name for p, idle or
// new, or nil when no plan of that head is kept.
func (cp *chunkPlans) reader(p *Parser, name string, head []byte) *chunkReader {
	if cp == nil {
		return nil
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for i, pl := range cp.plans {
		if pl.parser != p || pl.name != name || pl.head != string(head) {
			continue
		}
		copy(cp.plans[1:i+1], cp.plans[:i])
		cp.plans[0] = pl
		if n := len(pl.idle); n > 0 {
			r := pl.idle[n-1]
			pl.idle[n-1] = nil
			pl.idle = pl.idle[:n-1]
			return r
		}
		return pl.newReader()
	}
	return nil
}

// add keeps pl, in front, and returns a reader of it.
func (cp *chunkPlans) add(pl *chunkPlan) *chunkReader {
	if cp == nil {
		return pl.newReader()
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if len(cp.plans) < maxChunkPlans {
		cp.plans = append(cp.plans, nil)
	}
	copy(cp.plans[1:], cp.plans)
	cp.plans[0] = pl
	return pl.newReader()
}

// put gives r back to its plan, once its chunk is read. What r keeps
// of the chunk's memory (its last row's cells and values, the arena its
// events were cut from) is let go: an idle reader holds no chunk.
func (cp *chunkPlans) put(r *chunkReader) {
	if cp == nil {
		return
	}
	p := r.rows.plan
	clear(r.rows.cells[:cap(r.rows.cells)])
	clear(p.vals)
	p.row.cells, p.arena, p.labels, p.placed = nil, event.Arena{}, nil, nil
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if pl := r.from; len(pl.idle) < maxIdleReaders {
		pl.idle = append(pl.idle, r)
	}
}

func (pl *chunkPlan) newReader() *chunkReader {
	return &chunkReader{from: pl, rows: csvRows{plan: pl.plan.forWorker(), header: pl.header, cells: make([]string, 0, len(pl.header))}}
}

// begin makes r's plan ready for a chunk told to sink: its counts and
// its memory for events start afresh (a chunk's events share arrays with
// no other chunk's), and its room and labels are the sink's.
func (r *chunkReader) begin(sink pipeline.Sink) *plan {
	p := r.rows.plan
	p.replacedBytes, p.replacedRows = 0, 0
	p.arena = event.Arena{}
	p.room, p.labels, p.placed = event.PipelineRoom, nil, nil
	p.leaveRoomFor(sink)
	return p
}

// lineEnds appends to ends the index of every line break of text, and
// reports whether text is whole lines of which there are records: each
// record one line, which ParseChunk can take where it lies.
func lineEnds(ends []int, text []byte, records int) ([]int, bool) {
	for at := 0; at < len(text); {
		i := bytes.IndexByte(text[at:], '\n')
		if i < 0 || len(ends) == records {
			return ends, false
		}
		at += i + 1
		ends = append(ends, at)
	}
	return ends, len(ends) == records
}

// readChunkPlan reads the head of c, a chunk in CSV, as Parse reads it
// (its report type, the header's checks, the plan compiled for it),
// telling sink what Parse would of the head. It returns io.EOF when the
// head has no header.
func (p *Parser) readChunkPlan(c *pipeline.Chunk, sink pipeline.Sink) (*chunkPlan, error) {
	in := pipeline.Input{Feed: c.Feed, Name: c.Name, FirstLine: c.FirstLine}
	report, err := p.reportOf(in)
	if err != nil {
		return nil, err
	}
	pipeline.SetReport(sink, report.FeedName)
	rr := newRecordReader(bytes.NewReader(c.Head))
	start := max(c.FirstLine-1, 0)
	rr.line = start
	header, headerLine, pl, err := p.csvPlan(rr, in, report, sink)
	if err != nil {
		return nil, err
	}
	pl.rawHead = string(headerLine) + "\n"
	return &chunkPlan{parser: p, name: c.Name, head: string(c.Head), report: report, header: header, headLines: rr.line - start, plan: pl}, nil
}
