package api

import (
	"encoding/json"
	"errors"
	"net/http"

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
}

// problemJSON is one problem of a refused body.
type problemJSON struct {
	Field string `json:"field"`
	// Contact is the 1-based position of the contact the problem is in,
	// absent for the organisation's own fields.
	Contact int    `json:"contact,omitempty"`
	Value   string `json:"value,omitempty"`
	Reason  string `json:"reason"`
}

func (e *Error) Error() string { return e.Message }

func badParameter(name, reason string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_parameter", Parameter: name,
		Message: "parameter " + name + ": " + reason}
}

func errNotFound(message string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: message}
}

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
	switch {
	case errors.As(err, &e):
	case errors.Is(err, store.ErrNotFound):
		e = errNotFound("not found")
	case errors.Is(err, store.ErrBadCursor):
		e = badParameter("cursor", "not a cursor this API returned")
	case r.Context().Err() != nil:
		// The caller went away; there is nobody to answer.
		h.log.Debug("api request cancelled", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	default:
		h.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; the server log has the details"}
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
	h.writeJSON(w, r, e.Status, errorBody{errorDetail{Code: e.Code, Message: e.Message, Parameter: e.Parameter, Problems: e.Problems}})
}

// WriteBadQuery answers a request whose query string is malformed (the web
// layer decides, before the API reads it) with a 400 in the API's error
// format; parameter names the parameter at fault when known.
func WriteBadQuery(w http.ResponseWriter, parameter, message string) {
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
