package api

import (
	"net/http"
	"strconv"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store"
)

// attachmentFile is a handler result that sends an attachment's content:
// always a download of bytes in a sandbox, never shown by a browser,
// whatever the attachment's own content type says.
type attachmentFile struct {
	a    incident.Attachment
	data []byte
}

func (d *attachmentFile) write(w http.ResponseWriter) {
	setCommonHeaders(w, "application/octet-stream")
	h := w.Header()
	h.Set("Content-Disposition", incident.AttachmentDisposition(d.a.Name))
	h.Set("Content-Security-Policy", incident.DownloadPolicy)
	h.Set("Content-Length", strconv.Itoa(len(d.data)))
	w.WriteHeader(http.StatusOK)
	w.Write(d.data)
}

// getIncidentAttachment sends an attachment of the incident or of one of
// the reports linked to it. A hash the incident does not hold is not
// found, even when another incident holds it.
func (h *handler) getIncidentAttachment(r *http.Request, _ *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	inc, err := h.pathIncident(r)
	if err != nil {
		return nil, err
	}
	list, err := h.store.IncidentAttachments(r.Context(), inc.ID, 0)
	if err != nil {
		return nil, err
	}
	sum := r.PathValue("sha256")
	for _, a := range list {
		if a.SHA256 == sum {
			data, err := h.store.GetBlob(r.Context(), sum)
			if err != nil {
				return nil, notFoundAs(err, "api.error.attachment.notfound", "get attachment "+sum)
			}
			return &attachmentFile{a: a.Attachment, data: data}, nil
		}
	}
	return nil, notFoundAs(store.ErrNotFound, "api.error.attachment.notfound", "")
}
