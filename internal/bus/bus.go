// Package bus is the pipeline's message bus: NATS JetStream, embedded in
// `vigil serve` or an external cluster, carrying batches of events, or
// chunks of an input's rows for the workers to parse, from the collecting
// process to the workers with at-least-once delivery.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

const (
	subject      = "vigil.batches"
	consumerName = "workers"
	feedHeader   = "Vigil-Feed"
	// reportHeader carries a batch's report type within its feed; a batch
	// of a parser that named none has no such header.
	reportHeader = "Vigil-Report"
	// runHeader carries the feed run a batch belongs to (its history row).
	runHeader = "Vigil-Run"
	// codecHeader names how a batch's payload is compressed: codecS2 for
	// S2 over the batch form, codecS2Heads for S2 over the batch form with
	// heads (what Publish writes). A batch without it is the plain batch form (event.AppendBatch),
	// as versions before it wrote every batch.
	codecHeader = "Vigil-Codec"
	// sealedHeader is "1" on a batch whose events were all sealed by its
	// producer (allSealed).
	sealedHeader = "Vigil-Sealed"
	codecS2      = "s2"
	// codecS2Heads is S2 over the batch form with heads
	// (event.AppendBatchHeads): raw's header line once a batch, not in
	// every event. What new batches are written in.
	codecS2Heads = "s2-heads"
	// codecS2Rows is S2 over a chunk of an input's records, unparsed
	// (pipeline.Chunk, encodeChunk): the worker parses it. What inputs
	// whose parser splits them are carried as.
	codecS2Rows = "s2-rows"
	// lineHeader, observedHeader and recordsHeader carry a chunk's
	// FirstLine, Observed and Records.
	lineHeader     = "Vigil-Line"
	observedHeader = "Vigil-Observed"
	recordsHeader  = "Vigil-Records"
	// maxPayload bounds one batch message; batches are cut well below it.
	maxPayload = 8 << 20
	// maxPlain bounds a compressed batch's size once decompressed, so
	// that a damaged length cannot ask for any amount of memory.
	maxPlain = 1 << 30
)

// Config is what the bus needs from Vigil's configuration.
type Config struct {
	// URL of an external NATS server or cluster; "" embeds one.
	URL         string
	Credentials string
	// StoreDir holds the embedded server's JetStream files.
	StoreDir string
	// Listen opens the embedded server to other processes (workers).
	Listen   string
	Stream   string
	MaxBytes int64
}

// Bus is a connection to JetStream with Vigil's stream set up. It
// implements pipeline.Transport.
type Bus struct {
	log    *slog.Logger
	server *server.Server
	conn   *nats.Conn
	js     jetstream.JetStream
	stream string
	// purges is true on a stream of limits retention: the workers'
	// process purges what the consumer acknowledged (purger), where a
	// work-queue stream removes every message as it is acknowledged.
	purges bool
	// purgeBytes is how many bytes of acknowledged batches a worker
	// process lets build up before it asks for a purge (purger).
	purgeBytes int64
	// purgeNow asks the purger for a purge before its next tick:
	// purgeBytes were acknowledged since the last.
	purgeNow chan struct{}
	// purgeTicks, when not nil, are the purger's ticks instead of a
	// ticker's every purgeInterval, and purgeTicked is told after each
	// whether it purged: a test's clock.
	purgeTicks  <-chan time.Time
	purgeTicked func(purged bool)
	// acked is what the workers of Consume acknowledged, as the purger
	// counts it (for tests).
	acked atomic.Pointer[ackedBatches]
	// RetryDelay is how long a failed batch waits before it is delivered
	// again.
	RetryDelay time.Duration
	// ackWait is how long the server waits for a delivered batch's
	// acknowledgement before it delivers the batch again (defaultAckWait;
	// tests shorten it).
	ackWait time.Duration
}

// defaultAckWait is how long a worker may hold a batch unacknowledged: a
// batch of a crashed worker comes back after it, and it bounds a failed
// batch's wait should its RetryDelay be lost.
const defaultAckWait = 2 * time.Minute

// Open starts the embedded server when no URL is configured, connects, and
// creates or updates the stream. The caller's sentence says which server
// failed; when the reason from NATS does not say what failed (an address
// to listen on that is none, a server not ready in time, the stream), the
// error is an *Error that says it in the reader's language, else it is
// NATS's own.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Bus, error) {
	b := &Bus{log: log, stream: cfg.Stream, RetryDelay: 5 * time.Second, ackWait: defaultAckWait}
	opts := []nats.Option{nats.Name("vigil"), nats.MaxReconnects(-1)}
	url := cfg.URL
	if url == "" {
		sopts := &server.Options{
			ServerName: "vigil",
			JetStream:  true,
			StoreDir:   cfg.StoreDir,
			MaxPayload: maxPayload,
			NoSigs:     true,
			NoLog:      true,
			DontListen: cfg.Listen == "",
		}
		if cfg.Listen != "" {
			host, port, err := splitHostPort(cfg.Listen)
			if err != nil {
				return nil, &Error{Message: i18n.M("bus.error.listen", cfg.Listen), Err: err}
			}
			sopts.Host, sopts.Port = host, port
		}
		srv, err := server.NewServer(sopts)
		if err != nil {
			return nil, err
		}
		go srv.Start()
		if !srv.ReadyForConnections(readyTimeout) {
			srv.Shutdown()
			return nil, &Error{Message: i18n.M("bus.error.notready", int(readyTimeout/time.Second))}
		}
		b.server = srv
		opts = append(opts, nats.InProcessServer(srv))
		url = srv.ClientURL()
	} else if cfg.Credentials != "" {
		opts = append(opts, nats.UserCredentials(cfg.Credentials))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		b.Close()
		return nil, err
	}
	b.conn = nc
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(64))
	if err != nil {
		b.Close()
		return nil, err
	}
	b.js = js
	// Only this process reaches an embedded server that does not listen:
	// nothing can publish to its stream between the look and the
	// removal of openStream's migration.
	alone := b.server != nil && cfg.Listen == ""
	if err := b.openStream(ctx, cfg, alone); err != nil {
		b.Close()
		return nil, &Error{Message: i18n.M("bus.error.stream", cfg.Stream, serverReason(err)), Err: err}
	}
	return b, nil
}

// openStream creates or updates the stream. A new stream has limits
// retention: nothing is removed as it is acknowledged, and the workers'
// process purges the stream up to the consumer's acknowledged floor now
// and then (purger), which deletes whole block files, where a work-queue
// stream removed every acknowledged message on its own, reading its
// block (8 MiB) in again to do it: about 1.5 s of CPU a million events
// (docs/PERFORMANCE.md, issue 14, fifteenth and sixteenth sessions).
// The server does not change a stream's retention to or from work
// queue: a work-queue stream of an earlier version is made again when it
// is empty and alone is true (an embedded server no other process
// reaches); else it keeps its retention and its removals, and is moved
// at a later start that finds it empty.
func (b *Bus) openStream(ctx context.Context, cfg Config, alone bool) error {
	sc := jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "Vigil event batches from parsers to workers",
		Subjects:    []string{subject},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxBytes:    cfg.MaxBytes,
		Discard:     jetstream.DiscardNew,
		MaxMsgSize:  maxPayload,
	}
	deleted := false
	old, err := b.js.Stream(ctx, cfg.Stream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
	case err != nil:
		return err
	case old.CachedInfo().Config.Retention == jetstream.WorkQueuePolicy:
		if msgs := old.CachedInfo().State.Msgs; !alone || msgs > 0 {
			b.log.Info("bus: stream keeps its work-queue retention until it is empty", "stream", cfg.Stream, "batches", msgs)
			sc.Retention = jetstream.WorkQueuePolicy
			break
		}
		if err := b.js.DeleteStream(ctx, cfg.Stream); err != nil {
			return err
		}
		b.log.Info("bus: empty work-queue stream made again with limits retention", "stream", cfg.Stream)
		deleted = true
	}
	var s jetstream.Stream
	if deleted {
		s, err = createAgain(ctx, b.js, sc)
	} else {
		s, err = b.js.CreateOrUpdateStream(ctx, sc)
	}
	if err != nil {
		return err
	}
	info := s.CachedInfo()
	b.purges = info.Config.Retention == jetstream.LimitsPolicy
	b.purgeBytes = purgeBytes(info.Config.MaxBytes)
	b.purgeNow = make(chan struct{}, 1)
	return nil
}

// createAgain creates the stream sc right after its deletion. The server
// removes the account's emptied stream directory in the background after
// a deletion; a creation that meets it fails to make its own directory
// ("error creating store for stream"), and the next one finds the
// directory gone and makes it whole: so it tries again, recreateTries
// times at most.
func createAgain(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, sc)
	for try := 1; err != nil && try < recreateTries; try++ {
		select {
		case <-time.After(recreatePause):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		s, err = js.CreateOrUpdateStream(ctx, sc)
	}
	return s, err
}

// recreateTries and recreatePause bound createAgain's creations of a
// stream just deleted.
const (
	recreateTries = 50
	recreatePause = 20 * time.Millisecond
)

// purgeBytes is how many bytes of acknowledged batches are purged at a
// time on a stream of maxBytes: a quarter of the stream, at most 32 MiB
// (four of the server's blocks of 8 MiB, so that a purge deletes whole
// block files and reads at most one in, where a removal a batch read one
// in for every batch).
func purgeBytes(maxBytes int64) int64 {
	if maxBytes <= 0 {
		return 32 << 20
	}
	return min(maxBytes/4, 32<<20)
}

// readyTimeout is how long Open waits for the embedded server.
const readyTimeout = 30 * time.Second

// Error is a step of Open that failed, said in the reader's language
// (Explain) as the detail of the caller's sentence about the server; Error
// says it in English, for the log. Err is the reason from NATS or the
// system, when there is one.
type Error struct {
	Message i18n.Message
	Err     error
}

func (e *Error) Error() string         { return e.Message.String() }
func (e *Error) Unwrap() error         { return e.Err }
func (e *Error) Explain() i18n.Message { return e.Message }

// serverReason is err as the NATS server gave it: an API error's
// description ("insufficient storage resources available") without the
// codes around it, else err's text.
func serverReason(err error) string {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.Description != "" {
		return apiErr.Description
	}
	return err.Error()
}

func splitHostPort(hp string) (string, int, error) {
	i := strings.LastIndexByte(hp, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("want host:port, got %q", hp)
	}
	var port int
	if _, err := fmt.Sscanf(hp[i+1:], "%d", &port); err != nil {
		return "", 0, fmt.Errorf("bad port in %q", hp)
	}
	return hp[:i], port, nil
}

// embeddedHeapRoom is the room the embedded server needs in a process's
// soft memory limit, beside the pipeline's own memory (cmd vigil sizes
// the limit for a pipeline with a channel between parsers and workers).
// The server's file store reads and writes the stream's blocks through
// buffers of a block's size (8 MiB, the size it picks for a stream of
// more than 32 MiB) which it holds weakly once nothing uses them: a
// collection lets it drop the blocks being written, read and
// acknowledged, the next message loads each again into a new buffer, and
// a dropped buffer stays live for two or three more collections (its
// cleanup's argument, then the server's pools). On a busy machine this
// feeds itself (the buffers bring the next collection sooner, which
// drops the blocks again): bench ingest --transport jetstream held
// 90–125 MB of them and collected 249–357 times a million events in its
// pipeline, against 16–40 MB and 125–130 times on a quiet one. Room for
// four buffers kept it to 101–191 collections, for 32 MiB more resident
// memory, which takes bench ingest's peak at 10 million events to the
// 500 MB it is held to; room for twice as many reaches it at a million
// (docs/PERFORMANCE.md, issue 14, eleventh session).
const embeddedHeapRoom = 4 * (8 << 20)

// HeapRoom is the room in the process's soft memory limit that the bus
// needs beside the pipeline's: embeddedHeapRoom while it runs the
// embedded server, nothing with an external one.
func (b *Bus) HeapRoom() int64 {
	if b.server == nil {
		return 0
	}
	return embeddedHeapRoom
}

// ClientURL is the embedded server's address for workers ("" when it
// does not listen or the bus is external).
func (b *Bus) ClientURL() string {
	if b.server == nil || b.server.Addr() == nil {
		return ""
	}
	return b.server.ClientURL()
}

// Close disconnects and stops the embedded server.
func (b *Bus) Close() {
	if b.conn != nil {
		b.conn.Drain()
		b.conn.Close()
	}
	if b.server != nil {
		b.server.Shutdown()
		b.server.WaitForShutdown()
	}
}

// Publish implements pipeline.Transport: the batch is written to the stream
// asynchronously; Pending resolves on JetStream's acknowledgement. When the
// stream is full (the workers fall behind), Publish waits and retries, so
// parsers slow down instead of memory growing.
func (b *Bus) Publish(ctx context.Context, batch *pipeline.Batch) (pipeline.Pending, error) {
	msg := newMessage(batch.Feed, batch.Report, batch.Run, codecS2Heads)
	if allSealed(batch.Events) {
		msg.Header.Set(sealedHeader, "1")
	}
	msg.Data = encodeBatch(batch.Events)
	return b.publish(ctx, msg)
}

// newMessage is a message of the stream with the headers every one has:
// its feed, its report and run when it has them, its codec.
func newMessage(feed, report string, run int64, codec string) *nats.Msg {
	msg := nats.NewMsg(subject)
	msg.Header.Set(feedHeader, feed)
	if report != "" {
		msg.Header.Set(reportHeader, report)
	}
	if run != 0 {
		msg.Header.Set(runHeader, strconv.FormatInt(run, 10))
	}
	msg.Header.Set(codecHeader, codec)
	return msg
}

// PublishChunk implements pipeline.ChunkTransport: the chunk's records
// are written to the stream as they came, compressed (codecS2Rows), and
// a worker parses them. Like Publish it waits while the stream is full.
func (b *Bus) PublishChunk(ctx context.Context, c *pipeline.Chunk) (pipeline.Pending, error) {
	msg := newMessage(c.Feed, c.Report, c.Run, codecS2Rows)
	msg.Header.Set(lineHeader, strconv.Itoa(c.FirstLine))
	msg.Header.Set(observedHeader, c.Observed)
	msg.Header.Set(recordsHeader, strconv.Itoa(c.Records))
	msg.Data = encodeChunk(c)
	return b.publish(ctx, msg)
}

// publish writes msg to the stream asynchronously, waiting while too
// many are unacknowledged.
func (b *Bus) publish(ctx context.Context, msg *nats.Msg) (pipeline.Pending, error) {
	for attempt := 0; ; attempt++ {
		f, err := b.js.PublishMsgAsync(msg)
		if err == nil {
			return &retryPending{b: b, msg: msg, f: f}, nil
		}
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || attempt > 600 {
			return nil, fmt.Errorf("publish batch: %w", err)
		}
		select {
		case <-b.js.PublishAsyncComplete():
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// retryPending republishes when the stream refused the batch for being full.
type retryPending struct {
	b   *Bus
	msg *nats.Msg
	f   jetstream.PubAckFuture
}

func (p *retryPending) Wait(ctx context.Context) error {
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		select {
		case <-p.f.Ok():
			p.release()
			return nil
		case err := <-p.f.Err():
			if !isFull(err) {
				return fmt.Errorf("publish batch: %w", err)
			}
			// No purge is asked for here: while the workers are behind,
			// every batch they acknowledge lets one more in, and a purge
			// for each would read and rewrite the block its floor is in;
			// the purger frees purgeBytes at a time.
			p.b.log.Debug("stream full, waiting for workers", "delay", delay)
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return ctx.Err()
			}
			f, err := p.b.js.PublishMsgAsync(p.msg)
			if err != nil {
				return fmt.Errorf("publish batch: %w", err)
			}
			p.f = f
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives the batch's compressed buffer back to packedShelf once
// JetStream holds the batch: the connection copied the message when it
// was published, and it will not be published again.
func (p *retryPending) release() {
	if p.msg == nil {
		return
	}
	packedShelf.put(p.msg.Data)
	p.msg = nil
}

func isFull(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return strings.Contains(apiErr.Description, "maximum") || strings.Contains(apiErr.Description, "resources exceeded")
	}
	return strings.Contains(err.Error(), "maximum bytes") || strings.Contains(err.Error(), "resources exceeded")
}

// Consume implements pipeline.Transport with one durable pull consumer
// shared by every worker of every process, so adding `vigil serve --role
// worker` processes spreads the work.
func (b *Bus) Consume(ctx context.Context, workers int, handle func(ctx context.Context, b *pipeline.Batch) error) error {
	cons, err := b.js.CreateOrUpdateConsumer(ctx, b.stream, jetstream.ConsumerConfig{
		Durable:       consumerName,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       b.ackWait,
		MaxAckPending: 4 * workers * 8,
		FilterSubject: subject,
	})
	if err != nil {
		return fmt.Errorf("create consumer: %w", err)
	}
	var acked *ackedBatches
	if b.purges {
		stream, err := b.js.Stream(ctx, b.stream)
		if err != nil {
			return fmt.Errorf("stream: %w", err)
		}
		acked = &ackedBatches{}
		b.acked.Store(acked)
		pctx, stop := context.WithCancel(ctx)
		defer stop()
		go b.purger(pctx, stream, cons, acked)
	}
	errs := make(chan error, workers)
	for range workers {
		go func() { errs <- b.work(ctx, cons, acked, handle) }()
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// unknownCodecMaxDelay bounds how long a batch of an unknown codec waits
// between deliveries.
const unknownCodecMaxDelay = 5 * time.Minute

// unknownCodecDelay is the wait before a batch of an unknown codec,
// delivered n times, comes back: retry (at least a second) doubled a
// delivery, at most unknownCodecMaxDelay.
func unknownCodecDelay(retry time.Duration, n uint64) time.Duration {
	d := max(retry, time.Second) // never straight back, whatever the setting
	for i := uint64(1); i < n && d < unknownCodecMaxDelay; i++ {
		d *= 2
	}
	return min(d, unknownCodecMaxDelay)
}

func (b *Bus) work(ctx context.Context, cons jetstream.Consumer, acked *ackedBatches, handle func(ctx context.Context, b *pipeline.Batch) error) error {
	iter, err := cons.Messages(jetstream.PullMaxMessages(2))
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	go func() { <-ctx.Done(); iter.Stop() }()
	for {
		msg, err := iter.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			b.log.Warn("bus: next message", "err", err)
			continue
		}
		batch, err := batchOf(msg)
		if errors.Is(err, errUnknownCodec) {
			// A newer version wrote it (a rolling upgrade, workers of
			// both versions on the stream): it goes back for a worker
			// that knows its codec, never dropped. It is said once; and
			// while no newer worker takes it (a rollback), it comes back
			// ever less often, up to every unknownCodecMaxDelay.
			delivered := uint64(1)
			if meta, err := msg.Metadata(); err == nil {
				delivered = meta.NumDelivered
			}
			level := slog.LevelDebug
			if delivered <= 1 {
				level = slog.LevelWarn
			}
			b.log.Log(ctx, level, "bus: batch of an unknown codec, left for a newer worker", "err", err, "bytes", len(msg.Data()), "delivered", delivered)
			_ = msg.NakWithDelay(unknownCodecDelay(b.RetryDelay, delivered))
			continue
		}
		if err != nil {
			// Only Vigil writes this stream; a batch of a known codec
			// that does not decode is not going to decode later either.
			b.log.Error("bus: dropping undecodable batch", "err", err, "bytes", len(msg.Data()))
			_ = msg.Term()
			continue
		}
		err = handle(ctx, batch)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			b.log.Warn("bus: batch failed, will be redelivered", "feed", batch.Feed, "err", err)
			_ = msg.NakWithDelay(b.RetryDelay)
			continue
		}
		if err := msg.DoubleAck(ctx); err != nil {
			if ctx.Err() == nil {
				b.log.Warn("bus: ack", "err", err)
			}
			continue
		}
		if acked != nil {
			if meta, err := msg.Metadata(); err == nil && acked.add(meta.Sequence.Stream, len(msg.Data()), b.purgeBytes) {
				b.askPurge()
			}
		}
	}
}

// Pending returns how many batches wait in the stream or are being
// processed: the queue lag shown in metrics.
func (b *Bus) Pending(ctx context.Context) (uint64, error) {
	cons, err := b.js.Consumer(ctx, b.stream, consumerName)
	if err != nil {
		return 0, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

var _ pipeline.ChunkTransport = (*Bus)(nil)

// Interface guard.
var _ i18n.Explained = (*Error)(nil)
