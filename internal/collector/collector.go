// Package collector gathers feed input for the pipeline: files dropped into
// an inbox directory and reports downloaded over HTTP on a schedule. Each
// piece of input is handed to the pipeline whole and forgotten only once the
// pipeline has taken it, so a crash re-reads rather than loses.
package collector

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

// stateStore is what the download collectors keep in the database: what
// they fetched between runs, and the feed's statistics and last error.
type stateStore interface {
	store.State
	store.Feeds
}

// inboxStore is what the inbox keeps in the database: dead letters for the
// files it refused, and the feed's statistics.
type inboxStore interface {
	store.DeadLetters
	store.Feeds
}

// ErrTooLarge is returned while streaming input that exceeds the collector's
// size limit.
var ErrTooLarge error = i18n.NewError("collector.toolarge")

// gzipMagic starts every gzip stream (RFC 1952).
var gzipMagic = []byte{0x1f, 0x8b}

// maybeGunzip returns a reader of the decompressed content when name ends
// in .gz and the stream really is gzip, and the name without its .gz suffix,
// because parsers read the report type and format from the name of what
// they are given, and they are given the decompressed data. The magic bytes
// are checked rather than trusted from the name since some web servers
// decompress .gz downloads on the fly.
func maybeGunzip(r io.Reader, name string) (io.Reader, string, func() error, error) {
	nop := func() error { return nil }
	if !strings.HasSuffix(strings.ToLower(name), ".gz") {
		return r, name, nop, nil
	}
	base := name[:len(name)-len(".gz")]
	br := bufio.NewReader(r)
	head, err := br.Peek(len(gzipMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, name, nop, i18n.Wrap(err, "collector.read", name)
	}
	if len(head) < len(gzipMagic) || head[0] != gzipMagic[0] || head[1] != gzipMagic[1] {
		return br, base, nop, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, name, nop, i18n.Wrap(err, "collector.gunzip", name)
	}
	return zr, base, zr.Close, nil
}

// limitReader fails with ErrTooLarge instead of silently truncating the way
// io.LimitReader does: a truncated report would look complete to a parser.
type limitReader struct {
	r    io.Reader
	left int64
}

func newLimitReader(r io.Reader, limit int64) io.Reader {
	if limit <= 0 {
		return r
	}
	return &limitReader{r: r, left: limit}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, ErrTooLarge
	}
	// Ask for one byte more than allowed so that input of exactly the limit
	// still ends cleanly with io.EOF.
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n + int(l.left), ErrTooLarge
	}
	return n, err
}

// utcDate is the archive folder name for a moment.
func utcDate(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// fromEnv is what every collector takes from the pipeline's Env, with the
// defaults filled in: an HTTP client, a logger naming the collector and
// its feed, and a clock.
func fromEnv(env pipeline.Env, collector, feed string) (*http.Client, *slog.Logger, func() time.Time) {
	client, logger, now := env.HTTP, env.Logger, env.Now
	if client == nil {
		client = &http.Client{}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return client, logger.With("collector", collector, "feed", feed), now
}

// failureHook is the runner's hook for a scheduled run that failed
// before or while delivering (pipeline.FailureNotifier); set while the
// collector may run, so it is kept atomically.
type failureHook struct {
	hook atomic.Pointer[func(ctx context.Context, err error)]
}

// OnFailure implements pipeline.FailureNotifier.
func (h *failureHook) OnFailure(f func(ctx context.Context, err error)) { h.hook.Store(&f) }

// failed calls the hook, if any.
func (h *failureHook) failed(ctx context.Context, err error) {
	if f := h.hook.Load(); f != nil {
		(*f)(ctx, err)
	}
}

// scheduledFetch runs one scheduled fetch with deliver and hands its failure to the
// hook, except a failure of deliver itself: the runner records that on the
// run of the input it was delivering, and the hook would count it twice.
func (h *failureHook) scheduledFetch(ctx context.Context, deliver pipeline.Deliver, fetch func(context.Context, pipeline.Deliver) error) error {
	var delivering error
	err := fetch(ctx, func(ctx context.Context, in pipeline.Input) error {
		err := deliver(ctx, in)
		if err != nil {
			delivering = err
		}
		return err
	})
	if err != nil && ctx.Err() == nil && (delivering == nil || !errors.Is(err, delivering)) {
		h.failed(ctx, err)
	}
	return err
}
