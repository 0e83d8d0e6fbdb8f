package console

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/csaf"
)

// The new-publication form's one upload takes a CVE JSON 5 record or a
// CSAF 2.0 document (a vendor's advisory): which one it is, is told by
// the file's top-level members, so the analyst does not have to say.

// draftFromFile drafts a publication from an uploaded CVE record or
// CSAF document.
func (c *Console) draftFromFile(w http.ResponseWriter, r *http.Request, v *visit, svc *publication.Service, kind publication.Kind, tlp publication.TLP, file io.Reader) {
	data, err := io.ReadAll(file)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if csaf.IsDocument(data) {
		c.draftFromCSAF(w, r, v, svc, kind, tlp, data)
		return
	}
	c.draftFromCVE(w, r, v, svc, kind, tlp, bytes.NewReader(data))
}

// draftFromCSAF drafts an advisory (a warning from an informational
// advisory, or news when the form asks for it) from a CSAF document, at
// the stricter of the document's TLP and the label chosen; a malformed
// document is refused with the JSON path of the field that is wrong.
func (c *Console) draftFromCSAF(w http.ResponseWriter, r *http.Request, v *visit, svc *publication.Service, kind publication.Kind, tlp publication.TLP, data []byte) {
	d, err := csaf.ImportDraft(bytes.NewReader(data), c.pubLanguages())
	var refused *publication.InputError
	if errors.As(err, &refused) {
		c.showNewPublication(w, r, v, http.StatusUnprocessableEntity, c.csafRefusal(v, refused))
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if tlp.Rank() > d.Content.TLP.Rank() {
		d.Content.TLP = tlp
	}
	if d.Kind == publication.KindWarning && kind == publication.KindNews {
		d.Kind = kind
	}
	if !slices.Contains(c.pubSeverities(), d.Content.Severity) {
		d.Content.Severity = c.defaultSeverity()
	}
	c.finishDraft(w, r, v, svc, publication.Publication{Kind: d.Kind, Source: d.Source, Content: d.Content})
}

// csafRefusal says why a CSAF document is refused, naming the field
// (its JSON path) unless the reason already does.
func (c *Console) csafRefusal(v *visit, refused *publication.InputError) string {
	text := refused.Message.In(c.catalog, v.lang)
	if refused.Field == "" || strings.Contains(text, refused.Field) {
		return c.tr(v, "publications.error.csaf.document", text)
	}
	return c.tr(v, "publications.error.csaf.field", refused.Field, text)
}
