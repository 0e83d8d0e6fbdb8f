package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
)

// The split of a report that mixes two things, and the downloads of
// attachments. An attachment is never shown in the console: it is sent
// as a download of bytes (application/octet-stream) in a sandbox, so
// that an HTML file or an image with a script opened by mistake runs
// nothing in the console's origin.

// msgTitleSplit is the title of the split page.
const msgTitleSplit = "title.cases.split"

// incidentAttachmentsShown is how many attachments an incident's page
// lists.
const incidentAttachmentsShown = 200

// splitPage is the data of a report's split page.
type splitPage struct {
	Report incident.Report
	// Tag is the report's incident, "" while it is in the queue.
	Tag  string
	Part string
}

// pathReport loads the report of the {id} in the path; it answers the
// request itself when it returns false.
func (c *Console) pathReport(w http.ResponseWriter, r *http.Request, v *visit) (incident.Report, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.notFound(w, r, v)
		return incident.Report{}, false
	}
	rep, err := c.store.GetReport(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return rep, false
	}
	if err != nil {
		c.fail(w, r, v, err)
		return rep, false
	}
	return rep, true
}

func (c *Console) showSplit(w http.ResponseWriter, r *http.Request, v *visit, rep incident.Report, status int, part, problem string) {
	p := splitPage{Report: rep, Part: part}
	if rep.IncidentID != 0 {
		inc, err := c.store.GetIncident(r.Context(), rep.IncidentID)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		p.Tag = inc.Tag.String()
	}
	c.render(w, r, v, status, "reports_split", msgTitleSplit, p, "", problem)
}

func (c *Console) splitForm(w http.ResponseWriter, r *http.Request, v *visit) {
	if rep, ok := c.pathReport(w, r, v); ok {
		c.showSplit(w, r, v, rep, http.StatusOK, "", "")
	}
}

// splitReport makes a new report of the part of the report's text the
// form gives, with the observables of that part; the new report waits in
// the triage queue.
func (c *Console) splitReport(w http.ResponseWriter, r *http.Request, v *visit) {
	rep, ok := c.pathReport(w, r, v)
	if !ok {
		return
	}
	part := strings.TrimSpace(r.PostFormValue("part"))
	// A textarea sends its lines ended with CR LF; the report's text
	// has the line ends it came with.
	if !strings.Contains(rep.Text, part) {
		part = strings.ReplaceAll(part, "\r\n", "\n")
	}
	obs := extract.Find(part)
	if len(obs) > incident.MaxObservables {
		obs = obs[:incident.MaxObservables]
	}
	var err error
	if part == strings.TrimSpace(rep.Text) {
		// All of the text but its white space would leave the report
		// empty.
		err = refuse("incident.error.split")
	} else {
		_, err = c.cases().SplitReport(r.Context(), actorOf(v), rep.ID, part, obs)
	}
	if text := c.inputText(v, err); text != "" {
		c.showSplit(w, r, v, rep, http.StatusBadRequest, r.PostFormValue("part"), text)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if rep.IncidentID != 0 {
		inc, err := c.store.GetIncident(r.Context(), rep.IncidentID)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		redirectDone(w, r, "/incidents/"+inc.Tag.String(), "report-split")
		return
	}
	redirectDone(w, r, "/reports", "report-split")
}

// serveAttachment sends an attachment's content as a download.
func (c *Console) serveAttachment(w http.ResponseWriter, r *http.Request, v *visit, a incident.Attachment) {
	data, err := c.store.GetBlob(r.Context(), a.SHA256)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", incident.AttachmentDisposition(a.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", incident.DownloadPolicy)
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

// incidentAttachment sends an attachment of the incident or of one of
// its reports; a hash the incident does not hold is not found, even when
// another incident holds it.
func (c *Console) incidentAttachment(w http.ResponseWriter, r *http.Request, v *visit) {
	inc, ok := c.pathIncident(w, r, v)
	if !ok {
		return
	}
	list, err := c.store.IncidentAttachments(r.Context(), inc.ID, 0)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	sum := r.PathValue("sha256")
	for _, a := range list {
		if a.SHA256 == sum {
			c.serveAttachment(w, r, v, a.Attachment)
			return
		}
	}
	c.notFound(w, r, v)
}

// reportAttachment sends an attachment of a report.
func (c *Console) reportAttachment(w http.ResponseWriter, r *http.Request, v *visit) {
	rep, ok := c.pathReport(w, r, v)
	if !ok {
		return
	}
	sum := r.PathValue("sha256")
	for _, a := range rep.Attachments {
		if a.SHA256 == sum {
			c.serveAttachment(w, r, v, a)
			return
		}
	}
	c.notFound(w, r, v)
}
