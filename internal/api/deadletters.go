package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

var deadLetterParams = []string{"feed", "limit", "before", "include_retried", "include_discarded"}

const (
	defaultDeadLetters = 100
	maxDeadLetters     = 1000
	// maxRetryIDs bounds one retry request; the console retries a page at a
	// time, which is far less.
	maxRetryIDs = 10000
	// maxBodyBytes bounds a request body; the largest valid one (maxRetryIDs
	// ids) is well under it.
	maxBodyBytes = 1 << 20
)

// deadLetterJSON is a dead letter as the API shows it. Input is the text
// received, with invalid UTF-8 replaced; when it was not valid UTF-8,
// InputBase64 holds the exact bytes.
type deadLetterJSON struct {
	ID          int64  `json:"id"`
	Feed        string `json:"feed"`
	Parser      string `json:"parser"`
	Source      string `json:"source"`
	Line        int64  `json:"line"`
	Input       string `json:"input"`
	InputBase64 string `json:"input_base64,omitempty"`
	// Edited is the input as a person corrected it, when they did.
	Edited *string `json:"edited,omitempty"`
	// Error is why, in English, for programs; Reason says it in the
	// request's language (Accept-Language).
	Error         string     `json:"error"`
	Reason        string     `json:"reason"`
	Time          time.Time  `json:"time"`
	State         string     `json:"state"`
	Retried       bool       `json:"retried"`
	RetryError    string     `json:"retry_error,omitempty"`
	RetryReason   string     `json:"retry_reason,omitempty"`
	RetryTime     *time.Time `json:"retry_time,omitempty"`
	DiscardedBy   string     `json:"discarded_by,omitempty"`
	DiscardReason string     `json:"discard_reason,omitempty"`
}

// requestLanguage is the language the request asks for
// (Accept-Language), the one the API's errors are said in: a stored
// reason (a dead letter's, a feed run's) is said in it too.
func requestLanguage(r *http.Request) string {
	return i18n.Embedded().Match(r.Header.Get("Accept-Language"))
}

// letterJSON is the JSON form of l, its reason said in lang.
func letterJSON(l store.DeadLetter, lang string) deadLetterJSON {
	d := deadLetterJSON{ID: l.ID, Feed: l.Feed, Parser: l.Parser, Source: l.Source, Line: l.Line, Input: string(l.Input),
		Error: l.Error, Reason: l.Reason(i18n.Embedded(), lang), Time: l.Time.UTC(), State: string(l.State()), Retried: l.Retried, RetryError: l.RetryError, RetryReason: l.RetryReason(i18n.Embedded(), lang),
		DiscardedBy: l.DiscardedBy, DiscardReason: l.DiscardReason}
	if !utf8.Valid(l.Input) {
		d.Input = strings.ToValidUTF8(d.Input, "\uFFFD")
		d.InputBase64 = base64.StdEncoding.EncodeToString(l.Input)
	}
	if l.Edited != nil {
		e := strings.ToValidUTF8(string(l.Edited), "\uFFFD")
		d.Edited = &e
	}
	if !l.RetryTime.IsZero() {
		t := l.RetryTime.UTC()
		d.RetryTime = &t
	}
	return d
}

type deadLetterPageJSON struct {
	DeadLetters []deadLetterJSON `json:"dead_letters"`
	// NextBefore is the before parameter of the following page, absent on
	// the last one.
	NextBefore int64 `json:"next_before,omitempty"`
}

func (h *handler) listDeadLetters(r *http.Request, c *caller) (any, error) {
	values := r.URL.Query()
	if err := checkParams(values, deadLetterParams); err != nil {
		return nil, err
	}
	q := store.DeadLetterQuery{Feed: values.Get("feed"), Limit: defaultDeadLetters}
	if v := values.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxDeadLetters {
			return nil, badParameterText("limit", i18n.M("api.error.param.int", "limit", maxDeadLetters))
		}
		q.Limit = n
	}
	if v := values.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return nil, badParameterText("before", i18n.M("api.error.deadletter.before"))
		}
		q.BeforeID = n
	}
	for name, flag := range map[string]*bool{"include_retried": &q.IncludeRetried, "include_discarded": &q.IncludeDiscarded} {
		if v := values.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, badParameterText(name, i18n.M("api.error.param.bool", name))
			}
			*flag = b
		}
	}
	letters, err := h.store.ListDeadLetters(r.Context(), q)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	out := deadLetterPageJSON{DeadLetters: make([]deadLetterJSON, len(letters))}
	lang := requestLanguage(r)
	for i, l := range letters {
		out.DeadLetters[i] = letterJSON(l, lang)
	}
	if len(letters) == q.Limit {
		out.NextBefore = letters[len(letters)-1].ID
	}
	return out, nil
}

// retryRequest names the letters to re-run: ids, or every pending letter
// of a feed.
type retryRequest struct {
	IDs  []int64 `json:"ids"`
	Feed string  `json:"feed"`
}

type retryResponse struct {
	// Retried is how many of the letters became events.
	Retried int `json:"retried"`
	// Failed lists the letters that still fail, with the new reason.
	Failed []retryFailure `json:"failed"`
}

// retryFailure is a letter that still fails: why, in English (Error)
// and in the request's language (Reason).
type retryFailure struct {
	ID     int64  `json:"id"`
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

func (h *handler) retryDeadLetters(r *http.Request, c *caller) (any, error) {
	var req retryRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.Feed != "" && len(req.IDs) > 0 {
		return nil, badParameterText("feed", i18n.M("api.error.deadletter.idsfeed"))
	}
	if len(req.IDs) == 0 && req.Feed == "" {
		return nil, badParameterText("ids", i18n.M("api.error.deadletter.noids"))
	}
	if len(req.IDs) > maxRetryIDs {
		return nil, badParameterText("ids", i18n.M("api.error.deadletter.manyids", maxRetryIDs))
	}
	for _, id := range req.IDs {
		if id < 1 {
			return nil, badParameterText("ids", i18n.M("api.error.deadletter.badids"))
		}
	}
	if h.retry == nil {
		return nil, errNoPipeline
	}
	if req.Feed != "" {
		ids, err := pipeline.PendingDeadLetterIDs(r.Context(), h.store, req.Feed, pipeline.MaxRetryFeed)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return retryResponse{Failed: []retryFailure{}}, nil
		}
		req.IDs = ids
	}
	results, err := h.retry(r.Context(), req.IDs)
	n, failed := retryOutcome(results, requestLanguage(r))
	entry := auth.AuditEntry{
		Time:   time.Now().UTC(),
		UserID: c.user.ID,
		Actor:  c.user.Name,
		Action: "deadletter.retry",
		Target: auth.TargetIDs("deadletters", req.IDs),
		Detail: fmt.Sprintf("%d of %d became events (API token %d)", n, len(req.IDs), c.token.ID),
	}
	if err != nil {
		entry.Detail = fmt.Sprintf("failed after %d of %d (API token %d): %v", n, len(req.IDs), c.token.ID, err)
	}
	// The audit entry is written even when the retry failed: a partial
	// retry changed state. Context.WithoutCancel keeps a caller hanging up
	// from erasing the trace of what it did.
	if aerr := h.store.AddAudit(context.WithoutCancel(r.Context()), entry); aerr != nil {
		return nil, errors.Join(fmt.Errorf("audit dead letter retry: %w", aerr), err)
	}
	if err != nil {
		return nil, fmt.Errorf("retry dead letters: %w", err)
	}
	return retryResponse{Retried: n, Failed: failed}, nil
}

// errNoPipeline answers a re-run in a process without a pipeline.
var errNoPipeline = errorText(http.StatusNotImplemented, "not_implemented", "",
	i18n.M("api.error.deadletter.nopipeline"))

// retryOutcome counts the letters a re-run turned into events and lists
// those it left pending, with the reason, said in lang.
func retryOutcome(results []pipeline.RetryResult, lang string) (retried int, failed []retryFailure) {
	failed = []retryFailure{}
	for _, res := range results {
		if res.OK {
			retried++
			continue
		}
		failed = append(failed, retryFailure{ID: res.ID, Error: res.Error, Reason: res.Reason(i18n.Embedded(), lang)})
	}
	return retried, failed
}

// decodeBody reads a JSON request body into v. Only application/json is
// accepted: a browser form cannot send it without a CORS preflight, which
// keeps cross-site requests out even though the API has no CSRF token.
func decodeBody(r *http.Request, v any) error {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return errorText(http.StatusUnsupportedMediaType, "unsupported_media_type", "", i18n.M("api.error.body.media"))
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		var apiErr *Error
		switch {
		case errors.As(err, &apiErr):
			// A value's own decoder said what is wrong.
			return apiErr
		case errors.As(err, &tooLarge):
			return errorText(http.StatusRequestEntityTooLarge, "body_too_large", "", i18n.M("api.error.body.large", maxBodyBytes))
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return badParameterText(typeErr.Field, i18n.M("api.error.body.type", typeErr.Field, typeErr.Type.String()))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
			return badParameterText(name, i18n.M("api.error.body.field", name))
		case errors.Is(err, io.EOF):
			return badParameterText("body", i18n.M("api.error.body.empty"))
		}
		return badParameterText("body", i18n.M("api.error.body.json"))
	}
	if dec.More() {
		return badParameterText("body", i18n.M("api.error.body.many"))
	}
	return nil
}
