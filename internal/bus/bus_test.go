package bus

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/syncbuf"
)

func openBus(t testing.TB, dir string) *Bus {
	t.Helper()
	b, err := Open(context.Background(), Config{StoreDir: dir, Stream: "TEST", MaxBytes: 64 << 20}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b.RetryDelay = 50 * time.Millisecond
	return b
}

func batch(feed string, n, offset int) *pipeline.Batch {
	b := &pipeline.Batch{Feed: feed}
	for i := range n {
		e := event.New(4)
		e.SetTrusted("source.ip", "192.0.2.1")
		e.SetInt("source.port", int64(offset+i))
		b.Events = append(b.Events, e)
	}
	return b
}

// publish publishes each batch and waits for JetStream's acknowledgement.
func publish(t *testing.T, ctx context.Context, b *Bus, batches ...*pipeline.Batch) {
	t.Helper()
	for _, in := range batches {
		p, err := b.Publish(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// collect consumes until want events arrived, failing the first attempt of
// every batch whose first port is in failOnce.
func collect(t *testing.T, b *Bus, want int, failOnce map[string]bool) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	seen := map[string]int{}
	total := 0
	done := make(chan struct{})
	go b.Consume(ctx, 2, func(ctx context.Context, batch *pipeline.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		first := batch.Events[0].Value("source.port")
		if failOnce[first] {
			delete(failOnce, first)
			return context.DeadlineExceeded // any error: the batch must come back
		}
		if batch.Feed != "feed-a" {
			t.Errorf("feed header lost: %q", batch.Feed)
		}
		for _, e := range batch.Events {
			seen[e.Value("source.port")]++
			total++
		}
		if total >= want {
			select {
			case <-done:
			default:
				close(done)
			}
		}
		return nil
	})
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("only %d of %d events consumed", total, want)
	}
	// done closes inside the handler, before the consumer acknowledges the
	// last batch: cancelling now could leave it unacknowledged. Wait until
	// the consumer has caught up with everything it took.
	for {
		n, err := b.Pending(ctx)
		if err == nil && n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d batches still unacknowledged after consuming (err %v)", n, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	return seen
}

func TestPublishConsumeRedeliver(t *testing.T) {
	dir := t.TempDir()
	b := openBus(t, dir)
	defer b.Close()
	ctx := context.Background()
	var pending []pipeline.Pending
	for i := range 5 {
		p, err := b.Publish(ctx, batch("feed-a", 100, i*100))
		if err != nil {
			t.Fatal(err)
		}
		pending = append(pending, p)
	}
	for _, p := range pending {
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	seen := collect(t, b, 500, map[string]bool{"200": true})
	if len(seen) != 500 {
		t.Fatalf("%d distinct events, want 500", len(seen))
	}
	for port, n := range seen {
		if n != 1 {
			t.Errorf("event %s processed %d times after success", port, n)
		}
	}
}

func TestBatchesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	b := openBus(t, dir)
	ctx := context.Background()
	publish(t, ctx, b, batch("feed-a", 50, 0))
	b.Close()

	b = openBus(t, dir)
	defer b.Close()
	seen := collect(t, b, 50, nil)
	if len(seen) != 50 {
		t.Fatalf("%d events after restart, want 50", len(seen))
	}
	n, err := b.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d batches still pending", n)
	}
}

func TestManySmallBatches(t *testing.T) {
	b := openBus(t, t.TempDir())
	defer b.Close()
	ctx := context.Background()
	for i := range 20 {
		publish(t, ctx, b, batch("feed-a", 10, i*10))
	}
	seen := collect(t, b, 200, nil)
	if len(seen) != 200 {
		t.Fatalf("%d events", len(seen))
	}
}

// TestReportHeader checks that a batch's report type within its feed
// crosses the bus, on redelivery too, and that a batch without one arrives
// without one.
func TestReportHeader(t *testing.T) {
	b := openBus(t, t.TempDir())
	defer b.Close()
	// The failed batch comes back after RetryDelay, a delay the server
	// keeps; once in CI under the race detector it was not back in 30 s.
	// The ack wait brings back a batch whose delay was lost, as it does
	// a crashed worker's: 5 s here, so that this test is about the
	// header and not that timer.
	b.ackWait = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdp := batch("inbox", 10, 0)
	rdp.Report = "Accessible-RDP"
	plain := batch("inbox", 10, 100)
	publish(t, ctx, b, rdp, plain)
	var mu sync.Mutex
	reports := map[string][]string{} // first port: the report of every delivery
	done := make(chan struct{})
	go b.Consume(ctx, 1, func(ctx context.Context, got *pipeline.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		first := got.Events[0].Value("source.port")
		reports[first] = append(reports[first], got.Report)
		if got.Feed != "inbox" {
			t.Errorf("feed header lost: %q", got.Feed)
		}
		if first == "0" && len(reports[first]) == 1 {
			return context.DeadlineExceeded // the batch must come back
		}
		if len(reports["0"]) == 2 && len(reports["100"]) == 1 {
			close(done)
		}
		return nil
	})
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("batches not all consumed: %v", reports)
	}
	mu.Lock()
	defer mu.Unlock()
	if r := reports["0"]; r[0] != "Accessible-RDP" || r[1] != "Accessible-RDP" {
		t.Errorf("reports of the Accessible-RDP batch, delivered and redelivered = %q", r)
	}
	if r := reports["100"]; r[0] != "" {
		t.Errorf("report of a batch without one = %q, want none", r[0])
	}
}

// TestUncompressedBatchesAfterUpgrade checks that batches a version before
// compression wrote (no codec header, the plain batch form) are still
// consumed after a restart on this version, beside compressed ones.
func TestUncompressedBatchesAfterUpgrade(t *testing.T) {
	dir := t.TempDir()
	b := openBus(t, dir)
	ctx := context.Background()
	old := nats.NewMsg(subject)
	old.Header.Set(feedHeader, "feed-a")
	old.Header.Set(runHeader, "7")
	old.Data = event.AppendBatch(nil, batch("feed-a", 50, 0).Events)
	if _, err := b.js.PublishMsg(ctx, old); err != nil {
		t.Fatal(err)
	}
	b.Close()

	b = openBus(t, dir)
	defer b.Close()
	publish(t, ctx, b, batch("feed-a", 50, 50))
	stream, err := b.js.Stream(ctx, "TEST")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := stream.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	if c := msg.Header.Get(codecHeader); c != codecS2Heads {
		t.Fatalf("new batch's codec = %q, want %q", c, codecS2Heads)
	}
	seen := collect(t, b, 100, nil)
	if len(seen) != 100 {
		t.Fatalf("%d distinct events, want 100", len(seen))
	}
	for i := range 100 {
		if n := seen[strconv.Itoa(i)]; n != 1 {
			t.Errorf("event %d consumed %d times", i, n)
		}
	}
}

// TestDecodeBatchCodecs checks both payload forms decode to the same
// events, and that a damaged or unknown one is refused.
func TestDecodeBatchCodecs(t *testing.T) {
	events := batch("feed-a", 20, 0).Events
	// Some with raw's header line apart, one string for the events of
	// a report, as a report's parser gives them.
	head := "ts,ip,port\n"
	for i, e := range events {
		switch i % 3 {
		case 0:
			e.SetRawParts(head, fmt.Sprintf("2026-11-01,192.0.2.1,%d", i))
		case 1:
			e.SetRawString("a whole raw line")
		}
	}
	plain := event.AppendBatch(nil, events)
	packed := encodeBatch(events)
	if len(packed) >= len(plain) {
		t.Errorf("compressed batch of %d bytes, plain %d", len(packed), len(plain))
	}
	for codec, data := range map[string][]byte{"": plain, codecS2: s2.Encode(nil, plain), codecS2Heads: packed} {
		got, err := decodeBatch(codec, data)
		if err != nil {
			t.Fatalf("codec %q: %v", codec, err)
		}
		if len(got) != len(events) {
			t.Fatalf("codec %q: %d events, want %d", codec, len(got), len(events))
		}
		for i, e := range got {
			if !slices.Equal(e.Fields(), events[i].Fields()) {
				t.Errorf("codec %q, event %d: %v, want %v", codec, i, e.Fields(), events[i].Fields())
			}
			if rec, want := event.AppendRecord(nil, e), event.AppendRecord(nil, events[i]); !bytes.Equal(rec, want) {
				t.Errorf("codec %q, event %d: record %q, want %q", codec, i, rec, want)
			}
		}
	}
	if _, err := decodeBatch(codecS2, plain); err == nil {
		t.Error("a plain batch decoded as S2")
	}
	if _, err := decodeBatch(codecS2Heads, s2.Encode(nil, plain)); err == nil {
		t.Error("a batch without heads decoded as one with")
	}
	if _, err := decodeBatch("zstd", packed); !errors.Is(err, event.ErrBadBatch) {
		t.Errorf("unknown codec: err %v", err)
	}
}

// TestUnknownCodecLeftForNewerWorker checks that a batch whose codec a
// worker does not know (a newer version wrote it) goes back to the
// stream for a worker that knows it, again and again, while a damaged
// batch of a known codec is dropped and the good ones are consumed.
func TestUnknownCodecLeftForNewerWorker(t *testing.T) {
	b := openBus(t, t.TempDir())
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	publish := func(codec string, data []byte) {
		t.Helper()
		msg := nats.NewMsg(subject)
		msg.Header.Set(feedHeader, "feed-a")
		msg.Header.Set(codecHeader, codec)
		msg.Data = data
		if _, err := b.js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	plain := event.AppendBatch(nil, batch("feed-a", 10, 0).Events)
	publish("zstd-next", plain)                                        // a codec of a later version
	publish(codecS2, plain)                                            // damaged: not S2
	publish(codecS2Heads, encodeBatch(batch("feed-a", 10, 10).Events)) // good

	var mu sync.Mutex
	seen := map[string]int{}
	wctx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		b.Consume(wctx, 2, func(ctx context.Context, got *pipeline.Batch) error {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range got.Events {
				seen[e.Value("source.port")]++
			}
			return nil
		})
	}()
	cons, err := b.js.Consumer(ctx, "TEST", consumerName)
	for err != nil && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
		cons, err = b.js.Consumer(ctx, "TEST", consumerName)
	}
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the unknown batch came back to the worker twice and
	// everything else was settled.
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumRedelivered >= 1 && info.Delivered.Consumer >= 5 && info.NumPending == 0 && info.NumAckPending == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("consumer state %+v", info)
		case <-time.After(10 * time.Millisecond):
		}
	}
	stop()
	<-stopped
	mu.Lock()
	if len(seen) != 10 {
		t.Errorf("consumed %d distinct events, want the good batch's 10", len(seen))
	}
	for port, n := range seen {
		if n != 1 {
			t.Errorf("event %s consumed %d times", port, n)
		}
	}
	mu.Unlock()

	// Still in the stream, for a newer worker: not acknowledged, not
	// dropped.
	if n, err := b.Pending(ctx); err != nil || n != 1 {
		t.Fatalf("%d batches pending after the old worker stopped (err %v), want the unknown one", n, err)
	}
}

// TestUnknownCodecDelay: a batch no worker can read comes back ever less
// often, the retry delay doubled each delivery, never more rarely than
// unknownCodecMaxDelay, never sooner than a second.
func TestUnknownCodecDelay(t *testing.T) {
	for _, c := range []struct {
		retry time.Duration
		n     uint64
		want  time.Duration
	}{
		{5 * time.Second, 0, 5 * time.Second},
		{5 * time.Second, 1, 5 * time.Second},
		{5 * time.Second, 2, 10 * time.Second},
		{5 * time.Second, 4, 40 * time.Second},
		{5 * time.Second, 7, unknownCodecMaxDelay},
		{5 * time.Second, 1 << 40, unknownCodecMaxDelay},
		{time.Duration(1) << 62, 3, unknownCodecMaxDelay},
		{0, 1, time.Second},
		{50 * time.Millisecond, 3, 4 * time.Second},
		{time.Hour, 1, unknownCodecMaxDelay},
	} {
		if got := unknownCodecDelay(c.retry, c.n); got != c.want {
			t.Errorf("unknownCodecDelay(%v, %d) = %v, want %v", c.retry, c.n, got, c.want)
		}
	}
}

// TestSealedBatchesAreNotHashedAgain: a batch whose events were all
// sealed by its producer arrives with them sealed, each with its identity,
// so the pipeline's Seal does not hash them again; a batch with an event
// not sealed arrives as before, to be sealed by the pipeline.
func TestSealedBatchesAreNotHashedAgain(t *testing.T) {
	b := openBus(t, t.TempDir())
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sealed := batch("feed-a", 3, 0)
	want := map[string]event.Hash{}
	for _, e := range sealed.Events {
		want[e.Value("source.port")] = e.Seal()
	}
	mixed := batch("feed-a", 2, 10)
	mixed.Events[0].Seal()
	publish(t, ctx, b, sealed, mixed)
	got := make(chan *pipeline.Batch, 2)
	go b.Consume(ctx, 1, func(_ context.Context, batch *pipeline.Batch) error {
		got <- batch
		return nil
	})
	for range 2 {
		var out *pipeline.Batch
		select {
		case out = <-got:
		case <-ctx.Done():
			t.Fatal("batches not consumed")
		}
		for _, e := range out.Events {
			port := e.Value("source.port")
			h, wasSealed := want[port]
			if e.Sealed() != wasSealed {
				t.Errorf("event %s arrived sealed %v, want %v", port, e.Sealed(), wasSealed)
			}
			if wasSealed && e.Hash() != h {
				t.Errorf("event %s arrived with identity %s, want %s", port, e.Hash(), h)
			}
			if !wasSealed && e.Seal() != e.HashExcept(nil) {
				t.Errorf("event %s sealed after the bus differs from its hash", port)
			}
		}
	}
}

// TestHeapRoom: a bus that runs the embedded server asks room for its
// block buffers in the process's soft memory limit; one connected to an
// external server runs none and asks none.
func TestHeapRoom(t *testing.T) {
	ctx := context.Background()
	embedded, err := Open(ctx, Config{StoreDir: t.TempDir(), Listen: "127.0.0.1:-1", Stream: "TEST", MaxBytes: 64 << 20}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer embedded.Close()
	if got := embedded.HeapRoom(); got != embeddedHeapRoom {
		t.Errorf("embedded server: room %d, want %d", got, embeddedHeapRoom)
	}
	external, err := Open(ctx, Config{URL: embedded.ClientURL(), Stream: "TEST", MaxBytes: 64 << 20}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer external.Close()
	if got := external.HeapRoom(); got != 0 {
		t.Errorf("external server: room %d, want none", got)
	}
}

// TestFullStreamPublishesAgain: batches the stream refuses for being full
// are published again, the same bytes, once the workers made room, and a
// batch's compressed buffer is let go once JetStream holds the batch
// (packedShelf, for the next batch's) and not before.
func TestFullStreamPublishesAgain(t *testing.T) {
	logged := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := Open(context.Background(), Config{StoreDir: t.TempDir(), Stream: "TEST", MaxBytes: 1 << 20}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Random text S2 cannot shrink much: about 300 KB a batch, three or
	// four to the stream's 1 MiB.
	rng := rand.New(rand.NewPCG(3, 4))
	const batches, size = 12, 100
	want := map[string]string{}
	var pending []pipeline.Pending
	for i := range batches {
		in := batch("feed-a", size, i*size)
		for _, e := range in.Events {
			noise := make([]byte, 2400)
			for k := range noise {
				noise[k] = byte(rng.Uint32())
			}
			comment := base64.StdEncoding.EncodeToString(noise)
			e.SetTrusted("comment", comment)
			want[e.Value("source.port")] = comment
		}
		p, err := b.Publish(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		pending = append(pending, p)
	}
	var mu sync.Mutex
	got := map[string]string{}
	go b.Consume(ctx, 2, func(ctx context.Context, batch *pipeline.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range batch.Events {
			got[e.Value("source.port")] = e.Value("comment")
		}
		return nil
	})
	for i, p := range pending {
		if err := p.Wait(ctx); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if rp := p.(*retryPending); rp.msg != nil {
			t.Errorf("batch %d: its message is still held once JetStream acknowledged it", i)
		}
	}
	if !strings.Contains(logged.String(), "stream full") {
		t.Errorf("no batch was refused for a full stream: the test did not test it")
	}
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == len(want) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d events consumed", n, len(want))
		case <-time.After(10 * time.Millisecond):
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for port, comment := range want {
		if got[port] != comment {
			t.Fatalf("event of port %s: comment of %d bytes, not the one published", port, len(got[port]))
		}
	}
}

// TestUnzeroed: the buffers the bus writes into without clearing them
// first are n bytes long, hold what is written into them, and are each a
// memory of their own.
func TestUnzeroed(t *testing.T) {
	if b := unzeroed(0); len(b) != 0 {
		t.Fatalf("unzeroed(0) = %d bytes", len(b))
	}
	for _, n := range []int{1, 100, 40 << 10, 3 << 20} {
		a, b := unzeroed(n), unzeroed(n)
		if len(a) != n || cap(a) < n {
			t.Fatalf("unzeroed(%d): len %d cap %d", n, len(a), cap(a))
		}
		for i := range a {
			a[i], b[i] = byte(i), byte(i+1)
		}
		for i := range a {
			if a[i] != byte(i) || b[i] != byte(i+1) {
				t.Fatalf("unzeroed(%d): byte %d is %d and %d, written %d and %d", n, i, a[i], b[i], byte(i), byte(i+1))
			}
		}
	}
}
