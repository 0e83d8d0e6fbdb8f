package api

import (
	"io"
	"iter"
	"mime"
	"net/http"

	"github.com/vigil-cert/vigil/internal/export"
	"github.com/vigil-cert/vigil/internal/store"
)

// download is a handler result streamed as a file rather than rendered as
// one JSON value: an export of a whole search result.
type download struct {
	contentType string
	filename    string
	events      export.Events
	write       func(w io.Writer, events export.Events) error
}

// rawJSON is a handler result already encoded.
type rawJSON []byte

// created is a handler result that made something: rendered as JSON with
// 201 Created and the new resource's Location.
type created struct {
	location string
	value    any
}

// noContent is a handler result with nothing to say: 204 No Content.
type noContent struct{}

func (h *handler) render(w http.ResponseWriter, r *http.Request, data any) {
	switch d := data.(type) {
	case *download:
		h.stream(w, r, d)
	case *file:
		setCommonHeaders(w, d.contentType)
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.filename}))
		w.WriteHeader(http.StatusOK)
		w.Write(d.body)
	case *attachmentFile:
		d.write(w)
	case rawJSON:
		setCommonHeaders(w, "application/json")
		w.Write(d)
	case created:
		w.Header().Set("Location", d.location)
		h.writeJSON(w, r, http.StatusCreated, d.value)
	case noContent:
		// No body, so no Content-Type; the other headers as always.
		setCommonHeaders(w, "application/json")
		w.Header().Del("Content-Type")
		w.WriteHeader(http.StatusNoContent)
	default:
		h.writeJSON(w, r, http.StatusOK, data)
	}
}

// stream writes a download. The first event is read before the status line
// goes out, so a store that fails at once still gets a proper JSON error.
// A failure later, after 200 went out, aborts the connection: the caller
// sees a broken transfer instead of a file that looks complete but is not.
func (h *handler) stream(w http.ResponseWriter, r *http.Request, d *download) {
	events, stop, err := peek(d.events)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer stop()
	setCommonHeaders(w, d.contentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.filename}))
	w.WriteHeader(http.StatusOK)
	if err := d.write(w, events); err != nil {
		if r.Context().Err() == nil {
			h.log.Error("api export failed", "path", r.URL.Path, "err", err)
		}
		panic(http.ErrAbortHandler)
	}
}

// peek reads the first element of events, returning its error if that
// fails, and otherwise a sequence equal to events. Its first iteration
// continues the peeked one; later iterations (an all-fields CSV export
// walks the result twice) start events again. The caller must call stop
// when done, whether it iterated or not.
func peek(events export.Events) (_ export.Events, stop func(), _ error) {
	next, stop := iter.Pull2(events)
	first, err, ok := next()
	if err != nil {
		stop()
		return nil, stop, err
	}
	if !ok {
		stop()
		return events, stop, nil
	}
	used := false
	return func(yield func(store.StoredEvent, error) bool) {
		if used {
			for e, err := range events {
				if !yield(e, err) {
					return
				}
			}
			return
		}
		used = true
		if !yield(first, nil) {
			return
		}
		for {
			e, err, ok := next()
			if !ok || !yield(e, err) {
				return
			}
		}
	}, stop, nil
}
