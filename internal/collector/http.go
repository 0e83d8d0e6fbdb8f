package collector

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

func init() {
	pipeline.RegisterCollector("http",
		"downloads a URL on a schedule with conditional GET; options url, interval, headers, timeout, max_size, name",
		newHTTPFromOptions)
}

// Defaults of the http collector.
const (
	DefaultHTTPInterval = time.Hour
	DefaultHTTPTimeout  = 10 * time.Minute
	DefaultHTTPMaxSize  = 1 << 30 // 1 GiB, decompressed
)

// HTTP downloads one URL on a schedule and delivers the body. It sends the
// ETag and Last-Modified of the last delivered download back as
// If-None-Match and If-Modified-Since, and keeps them in the store, so
// neither an unchanged report nor a restart causes a download.
type HTTP struct {
	failureHook
	// cfg is the collector's configuration, defaults filled in.
	cfg    HTTPConfig
	client *http.Client
	store  stateStore
	logger *slog.Logger
	now    func() time.Time
}

// HTTPConfig configures an HTTP collector.
// The opt tags name the feed's collector options it is decoded from.
type HTTPConfig struct {
	Feed string
	URL  string `opt:"url"`
	// Name is the input name parsers see; default the URL's last path
	// element (the Shadowserver parser reads the report type from it).
	Name    string            `opt:"name"`
	Headers map[string]string `opt:"headers"`
	// Interval between downloads (default 1h).
	Interval time.Duration `opt:"interval"`
	// Timeout bounds one download including its delivery (default 10m).
	Timeout time.Duration `opt:"timeout"`
	// MaxSize bounds the body in bytes, after decompression (default 1 GiB).
	MaxSize int64 `opt:"max_size"`
}

// httpState is what is kept between runs under stateKey.
type httpState struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// NewHTTP returns an HTTP collector. env.Store is required: it keeps the
// validators of the last download and the feed's last error.
func NewHTTP(env pipeline.Env, cfg HTTPConfig) (*HTTP, error) {
	if cfg.Feed == "" {
		return nil, errors.New("http collector: feed name is empty")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("http collector %s: %w", cfg.Feed, &pipeline.OptionError{Message: i18n.M("pipeline.option.reason", "url", err.Error()), Err: err})
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("http collector %s: %w", cfg.Feed, pipeline.OptionProblem("pipeline.option.httpurl", "url", cfg.URL))
	}
	if env.Store == nil {
		return nil, fmt.Errorf("http collector %s: no store", cfg.Feed)
	}
	if cfg.Name == "" {
		cfg.Name = path.Base(u.Path)
		if cfg.Name == "/" || cfg.Name == "." {
			cfg.Name = u.Host
		}
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultHTTPInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultHTTPTimeout
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultHTTPMaxSize
	}
	c := &HTTP{
		cfg:   cfg,
		store: env.Store,
	}
	c.client, c.logger, c.now = fromEnv(env, "http", cfg.Feed)
	return c, nil
}

func newHTTPFromOptions(env pipeline.Env, feed string, opts pipeline.Options) (pipeline.Collector, error) {
	cfg := HTTPConfig{Feed: feed, Interval: DefaultHTTPInterval, Timeout: DefaultHTTPTimeout, MaxSize: DefaultHTTPMaxSize}
	if err := opts.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("http collector: %w", err)
	}
	return NewHTTP(env, cfg)
}

func (c *HTTP) stateKey() string { return "collector/http/" + c.cfg.Feed }

// Run downloads at once and then every interval until ctx ends. A failed
// download is logged, recorded as the feed's last error and tried again at
// the next interval.
func (c *HTTP) Run(ctx context.Context, deliver pipeline.Deliver) error {
	tick := time.NewTicker(c.cfg.Interval)
	defer tick.Stop()
	for {
		if err := c.scheduledFetch(ctx, deliver, c.Fetch); err != nil && ctx.Err() == nil {
			c.logger.Error("download failed", "url", c.cfg.URL, "err", err)
			c.recordRun(ctx, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Fetch makes one conditional download and delivers the body unless the
// server says it has not changed since the last delivered one. The error
// says why the download or its delivery failed.
func (c *HTTP) Fetch(ctx context.Context, deliver pipeline.Deliver) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	last, err := c.loadState(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.URL, nil)
	if err != nil {
		return i18n.Wrap(err, "collector.http.request", c.cfg.URL)
	}
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	if last.ETag != "" {
		req.Header.Set("If-None-Match", last.ETag)
	}
	if last.LastModified != "" {
		req.Header.Set("If-Modified-Since", last.LastModified)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return i18n.Wrap(err, "collector.http.get", c.cfg.URL)
	}
	defer resp.Body.Close()

	switch {
	case resp.StatusCode == http.StatusNotModified:
		c.logger.Debug("not modified", "url", c.cfg.URL)
		c.recordRun(ctx, nil)
		return nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return i18n.NewError("collector.http.status", c.cfg.URL, resp.Status)
	case resp.ContentLength > c.cfg.MaxSize:
		return &i18n.Error{Message: i18n.M("collector.http.toolarge", c.cfg.URL, resp.ContentLength), Err: ErrTooLarge}
	}

	// Limit the wire bytes and the decompressed bytes both: the first
	// bounds the download, the second a decompression bomb.
	body := newLimitReader(resp.Body, c.cfg.MaxSize)
	if !resp.Uncompressed && strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		// The transport decompresses on its own only when it asked for
		// gzip itself; a configured Accept-Encoding header lands here.
		zr, err := gzip.NewReader(body)
		if err != nil {
			return i18n.Wrap(err, "collector.http.gunzip", c.cfg.URL)
		}
		defer zr.Close()
		body = zr
	}
	body, name, closeBody, err := maybeGunzip(body, c.cfg.Name)
	if err != nil {
		return i18n.Wrap(err, "collector.http.get", c.cfg.URL)
	}
	defer closeBody()
	body = newLimitReader(body, c.cfg.MaxSize)

	start := c.now()
	if err := deliver(ctx, pipeline.Input{Feed: c.cfg.Feed, Name: name, Body: body}); err != nil {
		return i18n.Wrap(err, "collector.http.deliver", c.cfg.URL)
	}
	// Only now is the download safe to forget: saving the validators
	// earlier would make a crash during delivery skip this report for good.
	next := httpState{URL: c.cfg.URL, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	if err := c.saveState(ctx, next); err != nil {
		return err
	}
	c.logger.Info("download delivered", "url", c.cfg.URL, "name", name, "duration", c.now().Sub(start))
	c.recordRun(ctx, nil)
	return nil
}

func (c *HTTP) loadState(ctx context.Context) (httpState, error) {
	raw, err := c.store.GetState(ctx, c.stateKey())
	if errors.Is(err, store.ErrNotFound) {
		return httpState{}, nil
	}
	if err != nil {
		return httpState{}, i18n.Wrap(err, "collector.http.state.load", c.cfg.URL)
	}
	var st httpState
	if err := json.Unmarshal(raw, &st); err != nil {
		// Unreadable bookkeeping costs one unconditional download, no more.
		c.logger.Warn("ignoring unreadable collector state", "key", c.stateKey(), "err", err)
		return httpState{}, nil
	}
	if st.URL != c.cfg.URL {
		// Validators of another URL say nothing about this one.
		return httpState{}, nil
	}
	return st, nil
}

func (c *HTTP) saveState(ctx context.Context, st httpState) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := c.store.PutState(ctx, c.stateKey(), raw); err != nil {
		return i18n.Wrap(err, "collector.http.state.save", c.cfg.URL)
	}
	return nil
}

// recordRun notes the run on the feeds page: when, and the error if any.
func (c *HTTP) recordRun(ctx context.Context, failure error) {
	var (
		msg     string
		problem i18n.Message
	)
	if failure != nil {
		msg = failure.Error()
		problem, _ = i18n.Said(failure)
	}
	ctx = context.WithoutCancel(ctx)
	if err := c.store.AddFeedCounters(ctx, store.FeedKey{Feed: c.cfg.Feed}, store.FeedCounters{}, c.now(), time.Time{}, msg, problem); err != nil {
		c.logger.Error("record feed run", "err", err)
	}
}

var (
	_ pipeline.Collector = (*HTTP)(nil)
	_ pipeline.Fetcher   = (*HTTP)(nil)
)
