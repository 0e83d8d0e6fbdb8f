package channel

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// SendError is a send that did not succeed, and whether trying again
// can help. A Sender returns one (Permanent, Retryable or FromResponse);
// any other error counts as retryable, like a network failure.
type SendError struct {
	// Permanent is true when trying again cannot help: the channel
	// refused the request itself (an HTTP 4xx other than 429).
	Permanent bool
	// RetryAfter is how long the channel asked to wait (HTTP
	// Retry-After), zero when it did not say.
	RetryAfter time.Duration
	// Status is the HTTP status, 0 without one; Code the error's name
	// in the answer, when it gave one (AT Protocol's ExpiredToken).
	Status int
	Code   string
	// Reason is what the channel answered, in its own words, never a
	// secret; Text is what went wrong in Vigil's words, a catalogue
	// message. Explain makes the delivery's LastError of them.
	Reason string
	Text   i18n.Message
	Err    error
}

func (e *SendError) Error() string {
	switch {
	case e.Status != 0 && e.Reason != "":
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Reason)
	case e.Status != 0:
		return fmt.Sprintf("HTTP %d", e.Status)
	case !e.Text.IsZero():
		return e.Text.String()
	case e.Reason != "":
		return e.Reason
	case e.Err != nil:
		return e.Err.Error()
	}
	return "send failed"
}

// Explain is the failure for the delivery's page, in the reader's
// language: the framing is a catalogue message, the server's own answer
// is quoted as it came.
func (e *SendError) Explain() i18n.Message {
	switch {
	case e.Status != 0 && e.Reason != "":
		return i18n.M("channel.error.status", e.Status, e.Reason)
	case e.Status != 0:
		return i18n.M("channel.error.statusonly", e.Status)
	case !e.Text.IsZero():
		return e.Text
	case e.Reason != "":
		return i18n.M("channel.error.send", e.Reason)
	case e.Err != nil:
		return i18n.M("channel.error.send", Shorten(withoutURL(e.Err), maxReason))
	}
	return i18n.M("channel.error.unknown")
}

func (e *SendError) Unwrap() error { return e.Err }

// Permanent marks err as a failure that a retry cannot mend; text says
// what failed.
func Permanent(text i18n.Message, err error) error {
	return &SendError{Permanent: true, Text: text, Err: err}
}

// Retryable marks err as a failure worth trying again, after at least
// after (zero: the worker's backoff decides); text says what failed.
func Retryable(text i18n.Message, after time.Duration, err error) error {
	return &SendError{RetryAfter: after, Text: text, Err: err}
}

// sendFailure is the SendError of a failure that a Sender did not
// describe: a network error (the usual case: a refused connection, a
// timeout), an error that explains itself (i18n.Explained: its message
// is the text), or another error, retried alike. Its text has no URL,
// which may hold a webhook's secret.
func sendFailure(err error) *SendError {
	text := Shorten(withoutURL(err), maxReason)
	var (
		ue *url.Error
		ne net.Error
	)
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return &SendError{Text: i18n.M("channel.error.network", text), Err: err}
	}
	if m, ok := i18n.Explain(err); ok {
		return &SendError{Text: m, Err: err}
	}
	return &SendError{Text: i18n.M("channel.error.send", text), Err: err}
}

// withoutURL is err's text without the URL that net/http puts in it: a
// webhook's URL may hold a secret.
func withoutURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + withoutURL(ue.Err)
	}
	return err.Error()
}

var _ i18n.Explained = (*SendError)(nil)

// IsPermanent reports whether err is a permanent SendError.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

// maxReason bounds the text of a channel's answer kept in LastError.
const maxReason = 160

// FromResponse turns a failed HTTP answer into a SendError: 429 and 5xx
// are retryable (Retry-After respected, in seconds or as a date), any
// other status permanent. The reason is the error the body names (the
// JSON fields error, error_description or message, as Mastodon and AT
// Protocol servers give them), cut short and stripped of control
// characters. It reads at most 4 KiB of the body.
func FromResponse(resp *http.Response, now time.Time) *SendError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	code, reason := bodyReason(body)
	e := &SendError{Status: resp.StatusCode, Code: code, Reason: reason}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), now)
		if e.RetryAfter == 0 {
			e.RetryAfter = rateLimitReset(resp.Header.Get("RateLimit-Reset"), now)
		}
	case resp.StatusCode >= 400:
		e.Permanent = true
	default:
		// A 1xx or 3xx where a 2xx was expected: perhaps a proxy in
		// the way; worth another try.
	}
	return e
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// rateLimitReset reads the RateLimit-Reset header of AT Protocol
// servers: the Unix time when the limit resets.
func rateLimitReset(v string, now time.Time) time.Duration {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= now.Unix() {
		return 0
	}
	return time.Unix(n, 0).Sub(now)
}

// bodyReason is the error's name a JSON answer gives and the text
// for LastError, "" when it names none.
func bodyReason(body []byte) (code, reason string) {
	var fields struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Message     string `json:"message"`
	}
	if json.Unmarshal(body, &fields) != nil {
		return "", ""
	}
	parts := make([]string, 0, 3)
	for _, s := range []string{fields.Error, fields.Description, fields.Message} {
		if s != "" && !slices.Contains(parts, s) {
			parts = append(parts, s)
		}
	}
	return Shorten(fields.Error, 60), Shorten(strings.Join(parts, ": "), maxReason)
}

// Shorten makes s one printable line of at most n bytes, for a
// delivery's LastError.
func Shorten(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// utf8Start reports whether b starts a UTF-8 sequence.
func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
