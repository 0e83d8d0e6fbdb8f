package csaf

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
)

// Publisher is who issues the documents and where they are served.
type Publisher struct {
	// Name is the team's name; Namespace its web address (https://…),
	// which with a tracking id names a document uniquely.
	Name      string
	Namespace string
	// ContactDetails and IssuingAuthority are the publisher's optional
	// CSAF fields: how to reach the team, and what authority it has.
	ContactDetails   string
	IssuingAuthority string
	// BaseURL is the https origin the provider is served under
	// (https://cert.example), without a trailing slash.
	BaseURL string
	// PageURL returns the address of the publication's page on the
	// team's website in lang, cited as the document's self reference;
	// nil or "" for none.
	PageURL func(p *publication.Publication, lang string) string
	// Version is Vigil's version, written as the generator's.
	Version string
}

// The document categories.
const (
	CategorySecurity      = "csaf_security_advisory"
	CategoryInformational = "csaf_informational_advisory"
)

// tlpURL is where TLP is defined, cited in every document.
const tlpURL = "https://www.first.org/tlp/"

var fileNameRune = regexp.MustCompile(`[^+\-a-z0-9]+`)

// FileName is the standard's file name of the document with tracking id
// id: lower case, every run of other characters than a-z, 0-9, + and -
// replaced by one "_", and ".json".
func FileName(id string) string {
	return fileNameRune.ReplaceAllString(strings.ToLower(id), "_") + ".json"
}

// TLPLabel is the TLP 1 label CSAF 2.0 writes for t: WHITE for CLEAR,
// AMBER for AMBER and AMBER+STRICT.
func TLPLabel(t publication.TLP) string {
	switch t {
	case publication.TLPClear:
		return "WHITE"
	case publication.TLPAmberStrict:
		return "AMBER"
	case "":
		return "RED"
	}
	return string(t)
}

// Category is the CSAF document category of a publication kind, "" for
// the kinds that are not CSAF (news, digests).
func Category(k publication.Kind) string {
	switch k {
	case publication.KindAdvisory:
		return CategorySecurity
	case publication.KindWarning:
		return CategoryInformational
	}
	return ""
}

// Document returns p as a CSAF 2.0 document in lang (the primary
// language when p has none in lang): an advisory as a
// csaf_security_advisory, a warning as a csaf_informational_advisory.
// revs are p's published revisions (Publications.Revisions), which make
// the revision history; without them the history is made from p's
// dates. A publication that would make an invalid document is refused
// with an *publication.InputError naming the field.
func Document(p publication.Publication, pub Publisher, lang string, revs ...publication.Revision) ([]byte, error) {
	doc, err := build(&p, pub, lang, revs)
	if err != nil {
		return nil, err
	}
	return encode(doc)
}

// Check reports whether p makes a valid CSAF document, as Document
// would refuse it: for the console to say so before publishing, and for
// the csaf channel to skip what the provider leaves out.
func Check(p publication.Publication, pub Publisher, revs ...publication.Revision) error {
	_, err := Document(p, pub, "", revs...)
	return err
}

// encode writes doc as JSON and validates it.
func encode(doc *advisory) ([]byte, error) {
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("csaf: encode: %w", err)
	}
	data = append(data, '\n')
	if err := Validate(data); err != nil {
		return nil, err
	}
	return data, nil
}

// build makes the document of p, refusing what CSAF cannot say.
func build(p *publication.Publication, pub Publisher, lang string, revs []publication.Revision) (*advisory, error) {
	category := Category(p.Kind)
	if category == "" {
		return nil, publication.Refuse("kind", "csaf.error.kind", string(p.Kind))
	}
	if strings.TrimSpace(pub.Name) == "" || !strings.HasPrefix(pub.Namespace, "https://") && !strings.HasPrefix(pub.Namespace, "http://") {
		return nil, publication.Refuse("publisher", "csaf.error.publisher")
	}
	if strings.TrimSpace(p.Ident) == "" {
		return nil, publication.Refuse("ident", "csaf.error.required", "ident")
	}
	text, _ := p.Text(lang)
	field := "texts[" + strconv.Itoa(max(0, slices.Index(p.Languages(), text.Lang))) + "]"
	if strings.TrimSpace(text.Title) == "" {
		return nil, publication.Refuse(field+".title", "csaf.error.required", "title")
	}
	if strings.TrimSpace(text.Summary) == "" && strings.TrimSpace(text.Body) == "" {
		return nil, publication.Refuse(field+".summary", "csaf.error.required", "summary")
	}
	track, err := trackingOf(p, revs)
	if err != nil {
		return nil, err
	}
	doc := &advisory{Document: docMeta{
		Category:    category,
		CSAFVersion: "2.0",
		Title:       text.Title,
		Lang:        text.Lang,
		Publisher: publisher{
			Category: "coordinator", Name: pub.Name, Namespace: pub.Namespace,
			ContactDetails: pub.ContactDetails, IssuingAuthority: pub.IssuingAuthority,
		},
		Tracking:     track,
		Distribution: &distribution{Text: "TLP:" + string(p.TLP), TLP: &tlp{Label: TLPLabel(p.TLP), URL: tlpURL}},
		Notes:        documentNotes(text),
		References:   references(p, pub, text.Lang, track),
	}}
	track.Generator = &generator{Engine: engine{Name: "Vigil", Version: pub.Version}}
	doc.Document.Tracking = track
	if p.Severity != "" {
		doc.Document.AggregateSeverity = &severityText{Text: p.Severity}
	}
	if category == CategoryInformational {
		doc.Document.Notes = append(doc.Document.Notes, informationalNotes(p, text)...)
		if !slices.ContainsFunc(doc.Document.References, func(r reference) bool { return r.Category == "external" }) {
			return nil, publication.Refuse("references", "csaf.error.external")
		}
		return doc, nil
	}
	tree, status, err := products(p.Products)
	if err != nil {
		return nil, err
	}
	doc.ProductTree = tree
	doc.Vulnerabilities, err = vulnerabilities(p, text, status)
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// stamp writes t as CSAF writes dates: RFC 3339 in UTC, to the second.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// trackingOf makes the tracking of p: its ident, the status, the
// revision as the version and the revision history from revs.
func trackingOf(p *publication.Publication, revs []publication.Revision) (tracking, error) {
	t := tracking{ID: p.Ident}
	if p.Revision <= 0 {
		// A preview of a publication not published yet.
		now := p.Updated
		if now.IsZero() {
			now = time.Now()
		}
		t.Status, t.Version = "draft", "0"
		t.RevisionHistory = []revision{{Date: stamp(now), Number: "0", Summary: "Draft"}}
		t.InitialReleaseDate, t.CurrentReleaseDate = stamp(now), stamp(now)
		return t, nil
	}
	t.Status = "final"
	if p.Kind == publication.KindWarning {
		t.Status = "interim"
	}
	t.Version = strconv.Itoa(p.Revision)
	byNumber := map[int]publication.Revision{}
	for _, r := range revs {
		byNumber[r.Number] = r
	}
	var last time.Time
	for n := 1; n <= p.Revision; n++ {
		r, ok := byNumber[n]
		if !ok {
			r = publication.Revision{Number: n, Published: p.Updated}
			if n == 1 {
				r.Published = p.Published
			}
		}
		when := r.Published
		if when.IsZero() {
			when = p.Published
		}
		if when.Before(last) {
			// The history must be sorted by date as by number.
			when = last
		}
		last = when
		summary := strings.TrimSpace(r.PublicNote())
		if summary == "" {
			summary = "Initial release"
			if n > 1 {
				summary = "Update"
			}
		}
		t.RevisionHistory = append(t.RevisionHistory, revision{Date: stamp(when), Number: strconv.Itoa(n), Summary: summary})
	}
	if last.IsZero() {
		return t, publication.Refuse("published", "csaf.error.required", "published")
	}
	t.InitialReleaseDate = t.RevisionHistory[0].Date
	t.CurrentReleaseDate = t.RevisionHistory[len(t.RevisionHistory)-1].Date
	return t, nil
}

// documentNotes are the summary and the body of text.
func documentNotes(text publication.Text) []note {
	var notes []note
	if s := strings.TrimSpace(text.Summary); s != "" {
		notes = append(notes, note{Category: "summary", Title: "Summary", Text: s})
	}
	if b := strings.TrimSpace(text.Body); b != "" {
		notes = append(notes, note{Category: "description", Title: "Details", Text: b})
	}
	return notes
}

// informationalNotes say in notes what a security advisory says in its
// product tree and vulnerabilities: the products concerned, the CVEs and
// the recommendations.
func informationalNotes(p *publication.Publication, text publication.Text) []note {
	var notes []note
	if len(p.Products) > 0 {
		var lines []string
		for _, pr := range p.Products {
			line := strings.TrimSpace(pr.Vendor + " " + pr.Product)
			var versions []string
			for _, v := range pr.Versions {
				versions = append(versions, versionName(v))
			}
			if len(versions) > 0 {
				line += " (" + strings.Join(versions, ", ") + ")"
			}
			lines = append(lines, line)
		}
		notes = append(notes, note{Category: "general", Title: "Products concerned", Text: strings.Join(lines, "\n")})
	}
	if len(p.CVEs) > 0 {
		notes = append(notes, note{Category: "general", Title: "CVE", Text: strings.Join(p.CVEs, ", ")})
	}
	for _, r := range text.Recommendations {
		if s := strings.TrimSpace(r.Text); s != "" {
			notes = append(notes, note{Category: "general", Title: "Recommendation (" + r.Kind + ")", Text: s})
		}
	}
	return notes
}

// references are the page on the website and the CSAF file (self), the
// CVE records and the publication's references (external).
func references(p *publication.Publication, pub Publisher, lang string, t tracking) []reference {
	var out []reference
	seen := map[string]bool{}
	add := func(category, summary, url string) {
		if url == "" || seen[url] {
			return
		}
		seen[url] = true
		if strings.TrimSpace(summary) == "" {
			summary = url
		}
		out = append(out, reference{Category: category, Summary: summary, URL: url})
	}
	if pub.PageURL != nil {
		add("self", "The publication on the team's website", pub.PageURL(p, lang))
	}
	if p.TLP == publication.TLPClear && pub.BaseURL != "" && p.Revision > 0 {
		add("self", "This document in CSAF format", pub.BaseURL+"/"+PublicPath(t.ID, t.InitialReleaseDate))
	}
	for _, cve := range p.CVEs {
		add("external", cve, "https://www.cve.org/CVERecord?id="+cve)
	}
	for _, r := range p.References {
		add("external", r.Title, r.URL)
	}
	return out
}

// PublicPath is where the public provider serves the TLP:WHITE document
// with tracking id id first released at initial (RFC 3339), from the
// site's root: .well-known/csaf/white/2026/vigil-2026-0042.json.
func PublicPath(id, initial string) string {
	return wellKnown + "white/" + initial[:4] + "/" + FileName(id)
}
