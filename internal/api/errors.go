package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store"
)

// Error is an error the API reports to its caller as it is. Anything else a
// handler returns is an internal error: logged, and answered with a generic
// 500 so that no internal detail reaches the caller.
type Error struct {
	Status  int
	Code    string
	Message string
	// Parameter names the query parameter or body field at fault.
	Parameter string
	// Problems are every problem of a refused organisation, field by
	// field, so that a script fixes them in one round.
	Problems []problemJSON
	// Text, when set, is Message for a person, from the catalogue: the
	// answer gives it in the language of the request's Accept-Language
	// (EN, NL, FR or DE), and Message is its English, for the log. Code
	// stays the same in every language, for scripts.
	Text i18n.Message
}

// errorText is an error whose message is m, translated when answered.
func errorText(status int, code, parameter string, m i18n.Message) *Error {
	return &Error{Status: status, Code: code, Parameter: parameter, Message: m.String(), Text: m}
}

// badParameterText is a 400 naming the parameter at fault, with a
// message from the catalogue.
func badParameterText(name string, m i18n.Message) *Error {
	return errorText(http.StatusBadRequest, "bad_parameter", name, m)
}

// problemJSON is one problem of a refused body.
type problemJSON struct {
	Field string `json:"field"`
	// Contact is the 1-based position of the contact the problem is in,
	// absent for the organisation's own fields.
	Contact int    `json:"contact,omitempty"`
	Value   string `json:"value,omitempty"`
	Reason  string `json:"reason"`
	// Line, Handle and Severity are set for a problem of a constituency
	// file: its line (0 when not known), the organisation it concerns, and
	// error or note.
	Line     int    `json:"line,omitempty"`
	Handle   string `json:"handle,omitempty"`
	Severity string `json:"severity,omitempty"`
	// text is Reason from the catalogue, translated when answered.
	text i18n.Message
}

func (e *Error) Error() string { return e.Message }

// errorBody is the JSON form of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string        `json:"code"`
	Message   string        `json:"message"`
	Parameter string        `json:"parameter,omitempty"`
	Problems  []problemJSON `json:"problems,omitempty"`
}

// writeError is the one place errors become HTTP status codes.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	var refused *incident.InputError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &refused):
		// The incidents' rules refused the input, saying why.
		e = errorText(http.StatusBadRequest, "bad_input", "", refused.Message)
	case errors.Is(err, store.ErrNotFound):
		e = errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.notfound"))
	case errors.Is(err, store.ErrBadCursor):
		e = badParameterText("cursor", i18n.M("api.error.cursor"))
	case r.Context().Err() != nil:
		// The caller went away; there is nobody to answer.
		h.log.Debug("api request cancelled", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	default:
		h.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = errorText(http.StatusInternalServerError, "internal", "", i18n.M("api.error.internal"))
	}
	if e.Status >= 500 && e.Status != http.StatusInternalServerError {
		h.log.Warn("api request refused", "method", r.Method, "path", r.URL.Path, "status", e.Status, "err", e.Message)
	}
	if e.Status == http.StatusUnauthorized {
		// RFC 6750 section 3.
		challenge := `Bearer realm="vigil"`
		if e.Code == "invalid_token" {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	message, problems := h.translated(w, r, e)
	h.writeJSON(w, r, e.Status, errorBody{errorDetail{Code: e.Code, Message: message, Parameter: e.Parameter, Problems: problems}})
}

// translated is e's message and problems in the language the request
// asks for, where they come from the catalogue (every error the API
// makes; the rest, such as a reason from a library, stays English).
func (h *handler) translated(w http.ResponseWriter, r *http.Request, e *Error) (string, []problemJSON) {
	message, problems := e.Message, e.Problems
	hasText := !e.Text.IsZero()
	for _, p := range problems {
		hasText = hasText || !p.text.IsZero()
	}
	if !hasText {
		return message, problems
	}
	cat, err := catalogue()
	if err != nil {
		h.log.Error("api error not translated", "err", err)
		return message, problems
	}
	lang := cat.Match(r.Header.Get("Accept-Language"))
	w.Header().Set("Content-Language", lang)
	w.Header().Add("Vary", "Accept-Language")
	if !e.Text.IsZero() {
		message = e.Text.In(cat, lang)
	}
	if len(problems) > 0 {
		problems = slices.Clone(problems)
		for i, p := range problems {
			if !p.text.IsZero() {
				problems[i].Reason = p.text.In(cat, lang)
			}
		}
	}
	return message, problems
}

// WriteBadQuery answers a request whose query string is malformed (the web
// layer decides, before the API reads it) with a 400 in the API's error
// format; parameter names the parameter at fault when known.
func WriteBadQuery(w http.ResponseWriter, r *http.Request, parameter string, m i18n.Message) {
	message := m.String()
	if cat, err := catalogue(); err == nil {
		lang := cat.Match(r.Header.Get("Accept-Language"))
		message = m.In(cat, lang)
		w.Header().Set("Content-Language", lang)
		w.Header().Add("Vary", "Accept-Language")
	}
	b, _ := json.Marshal(errorBody{errorDetail{Code: "bad_query", Message: message, Parameter: parameter}})
	setCommonHeaders(w, "application/json")
	w.WriteHeader(http.StatusBadRequest)
	w.Write(append(b, '\n'))
}

// writeJSON writes v with the headers every API response carries.
func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		h.log.Error("api response not encodable", "path", r.URL.Path, "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error; the server log has the details"}}`)
	}
	setCommonHeaders(w, "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func setCommonHeaders(w http.ResponseWriter, contentType string) {
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	// Events are TLP-labelled: no shared cache may keep them.
	hd.Set("Cache-Control", "no-store")
}
