package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/vigil-cert/vigil/internal/api"
	"github.com/vigil-cert/vigil/internal/i18n"
)

// Problems a QueryError names.
const (
	// QuerySemicolon is a ";" in the query: net/url drops the whole pair
	// holding it, so "?ip=10.0.0.1;x" would search without ip at all.
	QuerySemicolon = "semicolon"
	// QueryEscape is a "%" not followed by two hexadecimal digits.
	QueryEscape = "escape"
	// QueryMalformed is anything else net/url refuses, such as too many
	// parameters.
	QueryMalformed = "malformed"
)

// QueryError is a query string that net/url would read only in part.
type QueryError struct {
	// Problem is QuerySemicolon, QueryEscape or QueryMalformed.
	Problem string
	// Text is the part of the raw query at fault: the pair with the
	// semicolon, the broken escape.
	Text string
	// Parameter names the parameter at fault, where it can be told.
	Parameter string
	// detail is net/url's own account of a QueryMalformed problem.
	detail string
}

func (e *QueryError) Error() string {
	var s string
	switch e.Problem {
	case QuerySemicolon:
		s = fmt.Sprintf(`malformed query string: a ";" in %q; separate parameters with "&" and write %%3B for a semicolon inside a value`, e.Text)
	case QueryEscape:
		s = fmt.Sprintf(`malformed query string: broken percent-escape %q; "%%" must be followed by two hexadecimal digits (%%25 for a percent sign)`, e.Text)
	default:
		s = "malformed query string: " + e.detail
	}
	if e.Parameter != "" {
		s += " (parameter " + e.Parameter + ")"
	}
	return s
}

// Message is Error from the catalogue, for the API to answer in the
// caller's language.
func (e *QueryError) Message() i18n.Message {
	var m i18n.Message
	switch e.Problem {
	case QuerySemicolon:
		m = i18n.M("api.error.query.semicolon", e.Text)
	case QueryEscape:
		m = i18n.M("api.error.query.escape", e.Text)
	default:
		m = i18n.M("api.error.query.malformed", e.detail)
	}
	if e.Parameter != "" {
		m = i18n.M("api.error.query.parameter", m, e.Parameter)
	}
	return m
}

// CheckQuery is the one decision whether a raw query string (without the
// "?") is well formed: exactly when url.ParseQuery, which r.URL.Query()
// calls and whose error it hides, reads all of it. The error says what is
// wrong and where.
func CheckQuery(raw string) *QueryError {
	if raw == "" {
		return nil
	}
	_, err := url.ParseQuery(raw)
	if err == nil {
		return nil
	}
	for pair := range strings.SplitSeq(raw, "&") {
		name, value, _ := strings.Cut(pair, "=")
		if i := strings.IndexByte(pair, ';'); i >= 0 {
			param, _, _ := strings.Cut(name, ";")
			return &QueryError{Problem: QuerySemicolon, Text: pair, Parameter: unescapedName(param)}
		}
		if bad, ok := brokenEscape(name); ok {
			return &QueryError{Problem: QueryEscape, Text: bad}
		}
		if bad, ok := brokenEscape(value); ok {
			return &QueryError{Problem: QueryEscape, Text: bad, Parameter: unescapedName(name)}
		}
	}
	// Only the parameter count is left (net/url's limit); name it in
	// net/url's own words.
	text := raw
	if len(text) > 80 {
		text = text[:80] + "…"
	}
	return &QueryError{Problem: QueryMalformed, Text: text, detail: err.Error()}
}

// brokenEscape returns the first "%" sequence of s that is not "%" and two
// hexadecimal digits.
func brokenEscape(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			i += 2
			continue
		}
		return s[i:min(i+3, len(s))], true
	}
	return "", false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unescapedName is a parameter name for an error message: decoded when it
// decodes, as written otherwise.
func unescapedName(s string) string {
	if n, err := url.QueryUnescape(s); err == nil {
		return n
	}
	return s
}

// badQueryPage is the console's (and portal's) translated 400 page.
type badQueryPage interface {
	BadQuery(w http.ResponseWriter, r *http.Request, problem, text string)
}

// strictQueries refuses with 400 every request whose query string is
// malformed, before any handler reads it, so that no handler can act on
// a query with parameters silently dropped: the API answers in its JSON
// error format, everything else with the console's translated page.
func strictQueries(next http.Handler, pages badQueryPage) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		qerr := CheckQuery(r.URL.RawQuery)
		if qerr == nil {
			next.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/api/v1" || strings.HasPrefix(r.URL.Path, "/api/v1/") {
			api.WriteBadQuery(w, r, qerr.Parameter, qerr.Message())
			return
		}
		pages.BadQuery(w, r, qerr.Problem, qerr.Text)
	})
}
