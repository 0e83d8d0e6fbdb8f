package output

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterOutput("webhook",
		"POSTs each batch as JSON lines or a JSON array; options url, format (ndjson|json), headers, retries, timeout, backoff",
		newWebhookFromOptions)
}

// Defaults of the webhook output.
const (
	DefaultWebhookRetries = 5
	DefaultWebhookTimeout = 30 * time.Second
	DefaultWebhookBackoff = time.Second
	maxWebhookBackoff     = time.Minute
)

// Webhook formats.
const (
	FormatNDJSON = "ndjson" // one IntelMQ JSON object a line, application/x-ndjson
	FormatJSON   = "json"   // one JSON array of the objects, application/json
)

// Webhook POSTs each batch to a URL. Network errors, 408, 429 and 5xx
// answers are retried with exponential backoff and jitter (honouring a
// Retry-After header); other non-2xx answers, redirects included, mean the
// receiver will never take the batch and are returned wrapping
// pipeline.ErrPermanent, so the runner sends the batch to the dead letters.
// When the retries run out the error is a plain one and the bus delivers the
// batch again later.
//
// Delivery is at least once: a batch the receiver took just before a crash
// is posted again after it. Every request carries an Idempotency-Key header
// derived from the batch's event hashes, so a receiver can drop repeats.
type Webhook struct {
	url     string
	format  string
	headers map[string]string
	retries int
	timeout time.Duration
	backoff time.Duration
	client  *http.Client
	logger  *slog.Logger
}

// WebhookConfig configures a Webhook; the opt tags name the output's
// options.
type WebhookConfig struct {
	URL     string            `opt:"url"`
	Format  string            `opt:"format"` // FormatNDJSON (default) or FormatJSON
	Headers map[string]string `opt:"headers"`
	// Retries is how many times a failed post is tried again (default 5;
	// negative for none).
	Retries int `opt:"retries"`
	// Timeout bounds each attempt (default 30s).
	Timeout time.Duration `opt:"timeout"`
	// Backoff is the wait before the first retry; it doubles each time up
	// to a minute (default 1s).
	Backoff time.Duration `opt:"backoff"`
}

// NewWebhook returns a webhook output. client may be nil.
func NewWebhook(client *http.Client, logger *slog.Logger, cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("webhook output: %w", &pipeline.OptionError{Message: i18n.M("pipeline.option.reason", "url", err.Error()), Err: err})
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("webhook output: %w", pipeline.OptionProblem("pipeline.option.httpurl", "url", cfg.URL))
	}
	switch cfg.Format {
	case "":
		cfg.Format = FormatNDJSON
	case FormatNDJSON, FormatJSON:
	default:
		return nil, fmt.Errorf("webhook output: %w", pipeline.OptionProblem("pipeline.option.choice", "format", FormatNDJSON+", "+FormatJSON, cfg.Format))
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultWebhookTimeout
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultWebhookBackoff
	}
	if client == nil {
		client = &http.Client{}
	}
	// A redirected POST turns into a GET on 301-303 and would be reported
	// as delivered; a webhook that moved is a configuration error instead.
	noRedirect := *client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Webhook{
		url:     cfg.URL,
		format:  cfg.Format,
		headers: cfg.Headers,
		retries: cfg.Retries,
		timeout: cfg.Timeout,
		backoff: cfg.Backoff,
		client:  &noRedirect,
		logger:  logger.With("output", "webhook", "url", redactURL(u)),
	}, nil
}

func newWebhookFromOptions(env pipeline.Env, opts pipeline.Options) (pipeline.Output, error) {
	cfg := WebhookConfig{Format: FormatNDJSON, Retries: DefaultWebhookRetries,
		Timeout: DefaultWebhookTimeout, Backoff: DefaultWebhookBackoff}
	if err := opts.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("webhook output: %w", err)
	}
	return NewWebhook(env.HTTP, env.Logger, cfg)
}

// redactURL keeps credentials and query tokens out of logs.
func redactURL(u *url.URL) string {
	r := *u
	r.User = nil
	r.RawQuery = ""
	return r.String()
}

// Write posts the batch, retrying as described on Webhook.
func (w *Webhook) Write(ctx context.Context, b *pipeline.Batch) error {
	if len(b.Events) == 0 {
		return nil
	}
	body, key := w.encode(b)
	for attempt := 0; ; attempt++ {
		retryAfter, err := w.post(ctx, body, key)
		if err == nil {
			return nil
		}
		if errors.Is(err, pipeline.ErrPermanent) {
			// The reason of the batch's dead letters.
			return i18n.Wrap(err, "output.webhook.refused", len(b.Events), b.Feed)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("webhook: %w", ctx.Err())
		}
		if attempt >= w.retries {
			return fmt.Errorf("webhook: %d events of %s: giving up after %d attempts: %w", len(b.Events), b.Feed, attempt+1, err)
		}
		wait := w.wait(attempt, retryAfter)
		w.logger.Warn("post failed, retrying", "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("webhook: %w (last error: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// wait is the pause before retry attempt+1: exponential, with jitter so
// that many workers do not retry in step, or what the server asked for.
func (w *Webhook) wait(attempt int, retryAfter time.Duration) time.Duration {
	d := w.backoff << min(attempt, 20)
	if d <= 0 || d > maxWebhookBackoff {
		d = maxWebhookBackoff
	}
	// Half fixed, half random: never shorter than d/2.
	d = d/2 + rand.N(d/2+1)
	if retryAfter > d {
		d = min(retryAfter, maxWebhookBackoff)
	}
	return d
}

// encode renders the batch in the configured format and derives its
// idempotency key.
func (w *Webhook) encode(b *pipeline.Batch) ([]byte, string) {
	buf := make([]byte, 0, 512*len(b.Events))
	sum := sha256.New()
	if w.format == FormatJSON {
		buf = append(buf, '[')
	}
	for i, e := range b.Events {
		if w.format == FormatJSON && i > 0 {
			buf = append(buf, ',')
		}
		buf = e.AppendJSON(buf)
		if w.format == FormatNDJSON {
			buf = append(buf, '\n')
		}
		h := e.Hash()
		sum.Write(h[:])
	}
	if w.format == FormatJSON {
		buf = append(buf, ']')
	}
	return buf, hex.EncodeToString(sum.Sum(nil))
}

// post makes one attempt. Errors that retrying cannot fix wrap
// pipeline.ErrPermanent; retryAfter is the server's Retry-After, if any.
func (w *Webhook) post(ctx context.Context, body []byte, key string) (retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, &i18n.Error{Message: i18n.M("output.webhook.request", i18n.Reason(err)), Err: errors.Join(pipeline.ErrPermanent, err)}
	}
	if w.format == FormatJSON {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	req.Header.Set("Idempotency-Key", key)
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// A short excerpt of the answer tells the operator why; the rest is
	// read so the connection can be reused.
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))

	switch code := resp.StatusCode; {
	case code >= 200 && code <= 299:
		return 0, nil
	case code == http.StatusTooManyRequests, code == http.StatusRequestTimeout, code >= 500:
		return parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), fmt.Errorf("%s%s", resp.Status, describe(excerpt))
	default:
		return 0, &i18n.Error{Message: i18n.M("output.webhook.status", resp.Status+describe(excerpt)), Err: pipeline.ErrPermanent}
	}
}

func describe(excerpt []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(excerpt), "?"))
	if s == "" {
		return ""
	}
	return ": " + s
}

// parseRetryAfter reads either form of Retry-After (RFC 9110 10.2.3).
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs > 0 {
		// Beyond a day it is capped anyway; this keeps the product from
		// overflowing.
		return time.Duration(min(secs, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

var _ pipeline.Output = (*Webhook)(nil)
