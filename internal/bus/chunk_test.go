package bus

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// TestChunksAndBatchesOnOneStream: a stream holding batches of events
// (of the codec before chunks, and of the one without compression before
// it) and chunks of input is consumed whole after a restart of the bus
// (an upgrade): each batch as its events, each chunk with everything it
// carries, and a chunk whose handler failed comes back the same.
func TestChunksAndBatchesOnOneStream(t *testing.T) {
	dir := t.TempDir()
	b := openBus(t, dir)
	ctx := context.Background()
	old := nats.NewMsg(subject)
	old.Header.Set(feedHeader, "feed-a")
	old.Data = event.AppendBatch(nil, batch("feed-a", 30, 0).Events)
	if _, err := b.js.PublishMsg(ctx, old); err != nil {
		t.Fatal(err)
	}
	publish(t, ctx, b, batch("feed-a", 30, 30))
	chunk := &pipeline.Chunk{Feed: "feed-a", Report: "scan_rdp", Name: "2026-11-20-scan_rdp\nodd name.csv", Run: 9,
		Observed: "2026-11-23T12:00:00+00:00", Head: []byte("ts,ip\n"), FirstLine: 41,
		Text: []byte(strings.Repeat("2026-11-20,192.0.2.1\n", 40)), Records: 40}
	want := *chunk
	want.Head, want.Text = bytes.Clone(chunk.Head), bytes.Clone(chunk.Text)
	p, err := b.PublishChunk(ctx, chunk)
	if err != nil {
		t.Fatal(err)
	}
	// The publisher may write over its chunk once PublishChunk returned.
	clear(chunk.Text)
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	publish(t, ctx, b, batch("feed-a", 30, 60))
	b.Close()

	b = openBus(t, dir)
	defer b.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	ports := map[string]int{}
	var chunks []pipeline.Chunk
	failed := false
	done := make(chan struct{})
	go b.Consume(cctx, 2, func(ctx context.Context, batch *pipeline.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		if c := batch.Chunk; c != nil {
			if len(batch.Events) != 0 || batch.Feed != c.Feed || batch.Report != c.Report || batch.Run != c.Run {
				t.Errorf("chunk's batch: %+v", batch)
			}
			got := *c
			got.Head, got.Text = bytes.Clone(c.Head), bytes.Clone(c.Text)
			chunks = append(chunks, got)
			if !failed {
				failed = true
				return context.DeadlineExceeded // it must come back
			}
		}
		for _, e := range batch.Events {
			ports[e.Value("source.port")]++
		}
		if len(ports) == 90 && len(chunks) == 2 {
			close(done)
		}
		return nil
	})
	select {
	case <-done:
	case <-cctx.Done():
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("consumed %d events and %d chunks, want 90 and 2", len(ports), len(chunks))
	}
	mu.Lock()
	defer mu.Unlock()
	for port, n := range ports {
		if n != 1 {
			t.Errorf("event %s consumed %d times", port, n)
		}
	}
	for i, got := range chunks {
		if got.Feed != want.Feed || got.Report != want.Report || got.Name != want.Name || got.Run != want.Run ||
			got.Observed != want.Observed || got.FirstLine != want.FirstLine || got.Records != want.Records ||
			!bytes.Equal(got.Head, want.Head) || !bytes.Equal(got.Text, want.Text) {
			t.Errorf("delivery %d of the chunk:\n%+v\nwant\n%+v", i+1, got, want)
		}
	}
}

// TestDecodeChunkRefusesDamage: a chunk whose lengths run past its end
// is refused, not read past.
func TestDecodeChunkRefusesDamage(t *testing.T) {
	good := encodeChunk(&pipeline.Chunk{Name: "a.csv", Head: []byte("h\n"), Text: []byte("r\n")})
	h := nats.Header{}
	if c, err := decodeChunk(h, good); err != nil || c.Name != "a.csv" || string(c.Head) != "h\n" || string(c.Text) != "r\n" {
		t.Fatalf("good chunk: %+v, %v", c, err)
	}
	bad := encodeChunk(&pipeline.Chunk{Name: "a.csv", Head: []byte("h\n"), Text: []byte("r\n")})
	// A name said to be longer than the chunk.
	for _, damaged := range [][]byte{compressBatch(append([]byte{0x7f}, "a.csv"...)), bad[:len(bad)/2]} {
		if c, err := decodeChunk(h, damaged); err == nil {
			t.Errorf("damaged chunk decoded: %+v", c)
		}
	}
}

// TestChunkKeepsItsMemory: a chunk's head and text are the worker's to
// keep (pipeline.ChunkParser: its events keep parts of them), so later
// chunks are not decompressed over them, nor are batches written there.
func TestChunkKeepsItsMemory(t *testing.T) {
	b := openBus(t, t.TempDir())
	defer b.Close()
	ctx := context.Background()
	texts := make([]string, 4)
	for i := range texts {
		texts[i] = strings.Repeat(fmt.Sprintf("2026-11-20,192.0.2.%d\n", i+1), 5000) // shelved: over 64 KiB
		p, err := b.PublishChunk(ctx, &pipeline.Chunk{Feed: "feed-a", Name: "a.csv", Head: []byte("ts,ip\n"),
			FirstLine: 1 + 5000*i, Text: []byte(texts[i]), Records: 5000})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	var kept []*pipeline.Chunk
	done := make(chan struct{})
	go b.Consume(cctx, 1, func(ctx context.Context, batch *pipeline.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		if batch.Chunk == nil {
			return nil
		}
		kept = append(kept, batch.Chunk)
		// Batches of events go through the same buffers as chunks.
		publish(t, ctx, b, batch1(len(kept)))
		if len(kept) == len(texts) {
			close(done)
		}
		return nil
	})
	select {
	case <-done:
	case <-cctx.Done():
		t.Fatal("the chunks did not come")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range kept {
		i := (c.FirstLine - 1) / 5000
		if string(c.Text) != texts[i] || string(c.Head) != "ts,ip\n" {
			t.Errorf("chunk %d was written over after its handler returned: %.60q", i, c.Text)
		}
	}
}

// batch1 is a batch of one event of feed-b, which no handler of
// TestChunkKeepsItsMemory waits for.
func batch1(i int) *pipeline.Batch { return batch("feed-b", 1, 1000+i) }
