package csaf

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/publication"
)

// Draft is a CSAF document read for a new publication: the kind it
// makes, its content fitted to the team's languages and to the limits of
// a publication, and its source ("csaf:" and the document's tracking
// id), which the publication keeps.
type Draft struct {
	Kind    publication.Kind
	Content publication.Content
	Source  string
}

// ImportDraft reads a CSAF 2.0 document as Import does and fits it to a
// team that writes in langs (the primary language first): the document's
// text becomes the primary language's, as the CVE import does, and also
// its own language's when the team writes in it too, so the translators
// see what the vendor wrote. Lists longer than a publication holds are
// cut, references that are not web addresses left out: the analyst edits
// from there. The TLP is the document's (Import).
func ImportDraft(r io.Reader, langs []string) (Draft, error) {
	adv, kind, err := read(r)
	if err != nil {
		return Draft{}, err
	}
	c := contentOf(adv, true)
	fit(&c, langs)
	source := "csaf:" + adv.Document.Tracking.ID
	if len(source) > publication.MaxShortField {
		source = strings.ToValidUTF8(source[:publication.MaxShortField], "")
	}
	return Draft{Kind: kind, Content: c, Source: source}, nil
}

// fit makes imported content fit a publication of a team writing in
// langs.
func fit(c *publication.Content, langs []string) {
	if len(c.Texts) == 1 && len(langs) > 0 {
		t := c.Texts[0]
		own := t.Lang
		t.Lang = langs[0]
		c.Texts = []publication.Text{t}
		if own != langs[0] && slices.Contains(langs, own) {
			t.Lang = own
			c.Texts = append(c.Texts, t)
		}
	}
	for i := range c.Texts {
		t := &c.Texts[i]
		t.Title = clipRunes(t.Title, publication.MaxTitle)
		t.Summary = clipRunes(t.Summary, publication.MaxSummary)
		if len(t.Body) > publication.MaxBody {
			t.Body = strings.ToValidUTF8(t.Body[:publication.MaxBody], "")
		}
		t.Recommendations = clipList(t.Recommendations)
	}
	c.References = slices.DeleteFunc(c.References, func(r publication.Reference) bool { return !webAddress(r.URL) })
	for i := range c.References {
		c.References[i].Title = clipRunes(c.References[i].Title, publication.MaxShortField/4)
	}
	c.References = clipList(c.References)
	c.Products = clipList(c.Products)
	for i := range c.Products {
		p := &c.Products[i]
		p.Vendor, p.Product = clipBytes(p.Vendor), clipBytes(p.Product)
		if len(p.CPE) > publication.MaxShortField || len(p.PURL) > publication.MaxShortField {
			p.CPE, p.PURL = "", ""
		}
		p.Versions = clipList(p.Versions)
	}
	c.CVEs = clipList(c.CVEs)
	c.CWEs = clipList(c.CWEs)
	if len(c.CVSS) > maxScores {
		c.CVSS = c.CVSS[:maxScores]
	}
}

// maxScores is the most CVSS scores a publication holds.
const maxScores = 10

func clipList[T any](list []T) []T {
	if len(list) > publication.MaxListItems {
		return list[:publication.MaxListItems]
	}
	return list
}

// clipBytes cuts s to the bytes a publication's short field holds.
func clipBytes(s string) string {
	if len(s) <= publication.MaxShortField {
		return s
	}
	return strings.ToValidUTF8(s[:publication.MaxShortField], "")
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// IsDocument reports whether data looks like a CSAF document rather
// than a CVE record: a JSON object with a "document" member and no
// "dataType" or "cveMetadata". It does not say the document is valid;
// ImportDraft does.
func IsDocument(data []byte) bool {
	var top map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&top); err != nil {
		return false
	}
	_, document := top["document"]
	_, dataType := top["dataType"]
	_, cveMetadata := top["cveMetadata"]
	return document && !dataType && !cveMetadata
}
