package web

import (
	"log/slog"
	"net/http"
	"time"
)

// Limits bound what one connection and one request may take, so a slow
// or greedy client holds neither a goroutine nor memory for long.
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's header (and the TLS
	// handshake).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response while it makes no progress:
	// every write pushes the deadline forward, so a long CSV export that
	// keeps streaming completes, while a client that stops reading is
	// cut off.
	WriteTimeout time.Duration
	// IdleTimeout ends a kept-alive connection with no request.
	IdleTimeout time.Duration
	// UploadTimeout replaces ReadTimeout on upload routes (the
	// constituency import, the public report form), whose bodies are large.
	UploadTimeout time.Duration
	// MaxHeaderBytes bounds a request's header.
	MaxHeaderBytes int
	// MaxBodyBytes bounds a request's body; MaxUploadBytes replaces it on
	// upload routes.
	MaxBodyBytes   int64
	MaxUploadBytes int64
}

// DefaultLimits are generous for people and tight for abuse.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		UploadTimeout:     10 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		MaxBodyBytes:      1 << 20,
		MaxUploadBytes:    32 << 20,
	}
}

// withDefaults fills the zero (or negative) fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	l.ReadHeaderTimeout = positiveOr(l.ReadHeaderTimeout, d.ReadHeaderTimeout)
	l.ReadTimeout = positiveOr(l.ReadTimeout, d.ReadTimeout)
	l.WriteTimeout = positiveOr(l.WriteTimeout, d.WriteTimeout)
	l.IdleTimeout = positiveOr(l.IdleTimeout, d.IdleTimeout)
	l.UploadTimeout = positiveOr(l.UploadTimeout, d.UploadTimeout)
	l.MaxHeaderBytes = positiveOr(l.MaxHeaderBytes, d.MaxHeaderBytes)
	l.MaxBodyBytes = positiveOr(l.MaxBodyBytes, d.MaxBodyBytes)
	l.MaxUploadBytes = positiveOr(l.MaxUploadBytes, d.MaxUploadBytes)
	return l
}

// positiveOr is v when it is above zero, else fallback.
func positiveOr[T int | int64 | time.Duration](v, fallback T) T {
	if v > 0 {
		return v
	}
	return fallback
}

// NewServer returns an HTTP server for h with every timeout and size
// limit of l set. Every listener of `vigil serve` is one of these.
func NewServer(h http.Handler, l Limits, logger *slog.Logger) *http.Server {
	l = l.withDefaults()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
	if logger != nil {
		// TLS handshake failures and the like: noise at info level.
		srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
	}
	return srv
}

// uploadRoutes are the requests allowed MaxUploadBytes and UploadTimeout.
var uploadRoutes = map[string]bool{
	"POST /constituency/import":        true,
	"POST /api/v1/constituency/import": true,
	"POST /report":                     true,
}

// limitRequests bounds every request body, and lets a response run as
// long as it keeps writing (see Limits.WriteTimeout).
func limitRequests(l Limits, next http.Handler) http.Handler {
	l = l.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		now := time.Now()
		limit, writeDeadline := l.MaxBodyBytes, now.Add(l.WriteTimeout)
		if uploadRoutes[r.Method+" "+r.URL.Path] {
			limit, writeDeadline = l.MaxUploadBytes, now.Add(l.UploadTimeout)
			// Errors mean the writer cannot set deadlines (a test
			// recorder): the server's own timeouts then apply.
			_ = rc.SetReadDeadline(writeDeadline)
			_ = rc.SetWriteDeadline(writeDeadline)
		}
		// The handler meets the limit as a *http.MaxBytesError and answers
		// in the person's language (the console's "too large" page).
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(&progressWriter{ResponseWriter: w, rc: rc, timeout: l.WriteTimeout, last: now, deadline: writeDeadline}, r)
	})
}

// progressWriter pushes the connection's write deadline forward as the
// handler writes, at most every quarter of the timeout (setting a
// deadline on every small write would cost more than the write). A
// response that let its deadline pass is not revived: the timeout
// bounds each pause, not only the first.
type progressWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	timeout  time.Duration
	last     time.Time
	deadline time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if now := time.Now(); now.Before(p.deadline) && now.Sub(p.last) >= p.timeout/4 {
		p.last, p.deadline = now, now.Add(p.timeout)
		_ = p.rc.SetWriteDeadline(p.deadline)
	}
	return p.ResponseWriter.Write(b)
}

// Flush keeps handlers that flush (streams) working through the wrapper.
func (p *progressWriter) Flush() { _ = p.rc.Flush() }

// Unwrap lets http.ResponseController reach the server's writer.
func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
