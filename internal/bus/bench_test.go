package bus

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/shadowserver"
)

// benchEvents makes n events of a generated scan_rdp report as the
// pipeline gets them: parsed by the Shadowserver parser (CSV quoting
// respected, fields named and typed as the schema says, raw kept), each
// sealed.
func benchEvents(tb testing.TB, n int) []*event.Event {
	events, err := shadowserver.GenerateEvents("2026-11-01-scan_rdp-bench-geo.csv", "scan_rdp", n, rand.New(rand.NewPCG(1, 2)), shadowserver.GenerateOptions{
		Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Step: 100 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	if len(events) != n {
		tb.Fatalf("%d events parsed of %d rows", len(events), n)
	}
	for _, e := range events {
		e.Seal()
	}
	return events
}

// BenchmarkBusRoundTrip publishes batches of 1000 events to the embedded
// server and consumes them with a handler that does nothing: the bus's
// own cost per event.
func BenchmarkBusRoundTrip(b *testing.B) {
	const size = 1000
	events := benchEvents(b, 10*size)
	bus := openBus(b, b.TempDir())
	defer bus.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got atomic.Int64
	go bus.Consume(ctx, 2, func(ctx context.Context, batch *pipeline.Batch) error {
		got.Add(int64(len(batch.Events)))
		return nil
	})
	b.ResetTimer()
	var pending []pipeline.Pending
	for i := range b.N {
		at := i % 10 * size
		p, err := bus.Publish(ctx, &pipeline.Batch{Feed: "bench", Events: events[at : at+size]})
		if err != nil {
			b.Fatal(err)
		}
		pending = append(pending, p)
		if len(pending) > 8 {
			if err := pending[0].Wait(ctx); err != nil {
				b.Fatal(err)
			}
			pending = pending[1:]
		}
	}
	for _, p := range pending {
		if err := p.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for got.Load() < int64(b.N*size) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(len(event.AppendBatch(nil, events)))/float64(len(events)), "plain-B/event")
	b.ReportMetric(float64(len(encodeBatch(events)))/float64(len(events)), "s2-B/event")
}

// BenchmarkBatchCodecs encodes and decodes a batch of 1000 events of the
// bench's report in the batch form with heads (codecS2Heads, what
// Publish writes) and in the form before it (codecS2), without the
// server: go test ./internal/bus -run '^$' -bench BatchCodecs -cpu 1
func BenchmarkBatchCodecs(b *testing.B) {
	events := benchEvents(b, 1000)
	for _, codec := range []string{codecS2, codecS2Heads} {
		b.Run(codec, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				var data []byte
				if codec == codecS2 {
					data = encodeS2(events)
				} else {
					data = encodeBatch(events)
				}
				size = len(data)
				if _, err := decodeBatch(codec, data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
			b.ReportMetric(float64(size)/float64(len(events)), "B/event")
		})
	}
}

// encodeS2 writes events as Publish did before the batch form with heads
// (codecS2: S2 over event.AppendBatch), the way encodeBatch writes its
// form, so that the two codecs are compared for their form alone.
func encodeS2(events []*event.Event) []byte {
	return compressBatch(event.AppendBatch(nil, events))
}

// BenchmarkDecodeBatch decodes a compressed batch of 2,000 events of the
// bench's report as a worker does (decodeBatch, codecS2Heads), the events
// let go after each: cpu-ns/op is the process's CPU time, the collector's
// and the kernel's share included (the machine is shared).
func BenchmarkDecodeBatch(b *testing.B) {
	data := encodeBatch(benchEvents(b, 2000))
	b.ReportAllocs()
	start := cputime.Process()
	for b.Loop() {
		if _, err := decodeBatch(codecS2Heads, data); err != nil {
			b.Fatal(err)
		}
	}
	cputime.ReportPerOp(b, start)
}

// BenchmarkChunkRoundTrip publishes the chunks of a generated scan_rdp
// report of 300,000 rows (of 2,000 rows, as the bench's publisher cuts
// them) to the embedded server, eight unacknowledged at a time as the
// runner's sink keeps them, and consumes them on two workers whose
// handler only waits (1 ms a chunk's 100 rows, which costs no CPU): the
// bus's own CPU a row (cpu-ns/row: the process's, so the server's, the
// client's and the collector's too):
// go test ./internal/bus -run '^$' -bench ChunkRoundTrip -benchtime 3x -cpu 2
func BenchmarkChunkRoundTrip(b *testing.B) {
	const rows, chunkRows = 300000, 2000
	var report bytes.Buffer
	if err := shadowserver.Generate(&report, "scan_rdp", rows, rand.New(rand.NewPCG(1, 1)), shadowserver.GenerateOptions{}); err != nil {
		b.Fatal(err)
	}
	p, err := shadowserver.New(shadowserver.DefaultSchema(), "scan_rdp")
	if err != nil {
		b.Fatal(err)
	}
	var chunks []*pipeline.Chunk
	err = p.Split(context.Background(), pipeline.Input{Name: "report.csv", Body: bytes.NewReader(report.Bytes())}, discardSink{}, chunkRows,
		func(c *pipeline.Chunk) error {
			cp := *c
			cp.Head, cp.Text, cp.Feed, cp.Name = bytes.Clone(c.Head), bytes.Clone(c.Text), "bench", "report.csv"
			chunks = append(chunks, &cp)
			return nil
		})
	if err != nil || len(chunks) != rows/chunkRows {
		b.Fatalf("%d chunks, %v", len(chunks), err)
	}
	for _, codec := range []string{codecS2Rows} {
		b.Run(codec, func(b *testing.B) {
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				bus := openBus(b, b.TempDir())
				ctx, cancel := context.WithCancel(context.Background())
				var got atomic.Int64
				go bus.Consume(ctx, 2, func(ctx context.Context, batch *pipeline.Batch) error {
					time.Sleep(time.Duration(batch.Chunk.Records/100) * time.Millisecond)
					got.Add(int64(batch.Chunk.Records))
					return nil
				})
				b.StartTimer()
				cpu0 := cputime.Process()
				var pending []pipeline.Pending
				for _, c := range chunks {
					pe, err := bus.PublishChunk(ctx, c)
					if err != nil {
						b.Fatal(err)
					}
					pending = append(pending, pe)
					if len(pending) >= 8 {
						if err := pending[0].Wait(ctx); err != nil {
							b.Fatal(err)
						}
						pending = pending[1:]
					}
				}
				for _, pe := range pending {
					if err := pe.Wait(ctx); err != nil {
						b.Fatal(err)
					}
				}
				for got.Load() < rows {
					time.Sleep(time.Millisecond)
				}
				cpu += cputime.Process() - cpu0
				b.StopTimer()
				cancel()
				bus.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*rows), "cpu-ns/row")
		})
	}
}

// discardSink is a sink that keeps nothing.
type discardSink struct{}

func (discardSink) Event(*event.Event) error { return nil }
func (discardSink) Reject([]byte, error)     {}
