package channel

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func response(status int, header http.Header, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(strings.NewReader(body))}
}

func TestFromResponse(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		resp      *http.Response
		permanent bool
		after     time.Duration
		text      string
	}{
		{"400", response(400, http.Header{}, `{"error":"InvalidRequest","message":"Record/text must not be longer than 300 graphemes"}`), true, 0,
			"HTTP 400: InvalidRequest: Record/text must not be longer than 300 graphemes"},
		{"401", response(401, http.Header{}, `{"error":"The access token is invalid"}`), true, 0, "HTTP 401: The access token is invalid"},
		{"429 seconds", response(429, http.Header{"Retry-After": {"30"}}, ``), false, 30 * time.Second, "HTTP 429"},
		{"503 date", response(503, http.Header{"Retry-After": {now.Add(time.Hour).Format(http.TimeFormat)}}, `<html>`), false, time.Hour, "HTTP 503"},
		{"429 rate limit reset", response(429, http.Header{"Ratelimit-Reset": {"1796292300"}}, `{"error":"RateLimitExceeded"}`), false, 5 * time.Minute, "HTTP 429: RateLimitExceeded"},
		{"500 control characters", response(500, http.Header{}, `{"message":"line\nbreak\u0000"}`), false, 0, "HTTP 500: line break"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := FromResponse(tc.resp, now)
			if e.Permanent != tc.permanent || e.RetryAfter != tc.after || e.Error() != tc.text {
				t.Errorf("got permanent %v, after %v, %q", e.Permanent, e.RetryAfter, e.Error())
			}
		})
	}
}

func TestShorten(t *testing.T) {
	got := Shorten(strings.Repeat("é", 200), 21)
	if len(got) > 21 || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("Shorten = %q", got)
	}
}

// FuzzFromResponse: whatever a server answers, the error is one valid,
// short line.
func FuzzFromResponse(f *testing.F) {
	f.Add(400, "30", `{"error":"x","message":"y"}`)
	f.Add(503, "Wed, 21 Oct 2015 07:28:00 GMT", "\xff\xfe")
	f.Fuzz(func(t *testing.T, status int, retry, body string) {
		e := FromResponse(response(status, http.Header{"Retry-After": {retry}}, body), time.Now())
		text := e.Error()
		if !utf8.ValidString(text) && utf8.ValidString(body) || strings.ContainsAny(text, "\n\r\x00") || len(text) > maxReason+40 || e.RetryAfter < 0 {
			t.Errorf("FromResponse(%d, %q, %q) = %q, after %v", status, retry, body, text, e.RetryAfter)
		}
	})
}
