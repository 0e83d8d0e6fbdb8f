package console

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
)

// The editor of a publication: one form with the fields every language
// shares, the affected products as repeated rows (a submit button adds a
// row, no JavaScript needed), and one column per language with its title,
// summary, Markdown body and recommendations by kind (one a line).

// pinLayout is the layout of the date-time inputs (datetime-local), read
// and written in UTC.
const pinLayout = "2006-01-02T15:04"

var (
	cvePattern = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)
	cwePattern = regexp.MustCompile(`^CWE-\d{1,6}$`)
)

// Limits of the editor's fields, so that a form cannot grow a
// publication without bound.
const (
	maxListItems   = 200
	maxProductRows = 200
)

// fieldList splits a field of items separated by commas, spaces or new
// lines.
func fieldList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// lines returns the non-empty lines of s, trimmed.
func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// readContent reads the editor's form over base (the content edited),
// for the configured languages and severity scale at now. It refuses
// what is not well-formed with the field at fault.
func readContent(r *http.Request, base publication.Content, langs, severities []string, now time.Time) (publication.Content, error) {
	f := r.PostForm
	c := publication.Content{Severity: strings.ToLower(strings.TrimSpace(f.Get("severity"))), TLP: publication.TLP(f.Get("tlp"))}
	// The texts first: a refused field must not lose what was written.
	c.Texts = readTexts(r, base, langs, now)
	if c.Severity != "" && !slices.Contains(severities, c.Severity) {
		return c, publication.Refuse("severity", "publications.error.severity", c.Severity)
	}
	if !c.TLP.Valid() {
		return c, publication.Refuse("tlp", "publications.error.tlp", string(c.TLP))
	}
	var err error
	if c.CVEs, err = readIDs(f.Get("cves"), cvePattern, "cves", "publications.error.cve"); err != nil {
		return c, err
	}
	if c.CWEs, err = readIDs(f.Get("cwes"), cwePattern, "cwes", "publications.error.cwe"); err != nil {
		return c, err
	}
	if c.CVSS, err = readCVSS(f.Get("cvss"), base.CVSS); err != nil {
		return c, err
	}
	for _, t := range fieldList(f.Get("tags")) {
		if !slices.Contains(c.Tags, t) && len(c.Tags) < maxListItems {
			c.Tags = append(c.Tags, t)
		}
	}
	if c.References, err = readReferences(f.Get("references")); err != nil {
		return c, err
	}
	if c.Products, err = readProducts(r); err != nil {
		return c, err
	}
	if s := strings.TrimSpace(f.Get("pinned")); s != "" {
		if c.PinnedUntil, err = time.ParseInLocation(pinLayout, s, time.UTC); err != nil {
			return c, publication.Refuse("pinned", "publications.error.time", s)
		}
	}
	return c, nil
}

// readIDs reads a list of identifiers (CVE-…, CWE-…), upper-cased, each
// once.
func readIDs(s string, pattern *regexp.Regexp, field, msg string) ([]string, error) {
	var out []string
	for _, id := range fieldList(s) {
		id = strings.ToUpper(id)
		if !pattern.MatchString(id) {
			return nil, publication.Refuse(field, msg, id)
		}
		if !slices.Contains(out, id) && len(out) < maxListItems {
			out = append(out, id)
		}
	}
	return out, nil
}

// readCVSS reads one vector a line; the service scores them when it
// saves (publication.Service.Score).
func readCVSS(s string, kept []publication.CVSS) ([]publication.CVSS, error) {
	var out []publication.CVSS
	for _, vec := range lines(s) {
		version, _, ok := strings.Cut(strings.TrimPrefix(vec, "CVSS:"), "/")
		if !strings.HasPrefix(vec, "CVSS:") || !ok || (version != "3.1" && version != "4.0" && version != "3.0") {
			return nil, publication.Refuse("cvss", "publications.error.cvss", vec)
		}
		c := publication.CVSS{Version: version, Vector: vec}
		if i := slices.IndexFunc(kept, func(k publication.CVSS) bool { return k.Vector == vec }); i >= 0 {
			c = kept[i]
		}
		out = append(out, c)
	}
	return out, nil
}

// readReferences reads one reference a line: its URL, then its title.
func readReferences(s string) ([]publication.Reference, error) {
	var out []publication.Reference
	for _, l := range lines(s) {
		u, title, _ := strings.Cut(l, " ")
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return nil, publication.Refuse("references", "publications.error.reference", u)
		}
		out = append(out, publication.Reference{URL: u, Title: strings.TrimSpace(title)})
	}
	return out, nil
}

// readProducts reads the product rows; a row without vendor, product,
// CPE and PURL is an empty row, dropped.
func readProducts(r *http.Request) ([]publication.Product, error) {
	f := r.PostForm
	vendors, names, versions, cpes, purls := f["p-vendor"], f["p-product"], f["p-versions"], f["p-cpe"], f["p-purl"]
	at := func(s []string, i int) string {
		if i < len(s) {
			return strings.TrimSpace(s[i])
		}
		return ""
	}
	var out []publication.Product
	for i := range min(len(vendors), maxProductRows) {
		p := publication.Product{Vendor: at(vendors, i), Product: at(names, i), CPE: at(cpes, i), PURL: at(purls, i)}
		if p.Vendor == "" && p.Product == "" && p.CPE == "" && p.PURL == "" {
			continue
		}
		if p.CPE != "" && !strings.HasPrefix(p.CPE, "cpe:2.3:") {
			return nil, publication.Refuse("p-cpe", "publications.error.cpe", p.CPE)
		}
		if p.PURL != "" && !strings.HasPrefix(p.PURL, "pkg:") {
			return nil, publication.Refuse("p-purl", "publications.error.purl", p.PURL)
		}
		ranges, err := parseVersions(at(versions, i))
		if err != nil {
			return nil, err
		}
		p.Versions = ranges
		out = append(out, p)
	}
	return out, nil
}

// parseVersions reads version ranges separated by commas, each an exact
// version ("2.4.1") or bounds: ">=1.0" (introduced), "<1.4" (fixed),
// "<=1.3" (last affected), for example ">=1.0 <1.4, 2.0.1".
func parseVersions(s string) ([]publication.VersionRange, error) {
	var out []publication.VersionRange
	for part := range strings.SplitSeq(s, ",") {
		words := strings.Fields(part)
		if len(words) == 0 {
			continue
		}
		var vr publication.VersionRange
		for _, w := range words {
			switch {
			case strings.HasPrefix(w, ">="):
				vr.Introduced = w[2:]
			case strings.HasPrefix(w, "<="):
				vr.LastAffected = w[2:]
			case strings.HasPrefix(w, "<"):
				vr.Fixed = w[1:]
			case strings.ContainsAny(w[:1], "<>="):
				return nil, publication.Refuse("p-versions", "publications.error.versions", part)
			default:
				vr.Version = w
			}
		}
		bounded := vr.Introduced != "" || vr.Fixed != "" || vr.LastAffected != ""
		if (vr.Version != "" && bounded) || (vr.Fixed != "" && vr.LastAffected != "") || vr == (publication.VersionRange{}) {
			return nil, publication.Refuse("p-versions", "publications.error.versions", strings.TrimSpace(part))
		}
		out = append(out, vr)
	}
	return out, nil
}

// formatVersions writes ranges as parseVersions reads them.
func formatVersions(ranges []publication.VersionRange) string {
	parts := make([]string, 0, len(ranges))
	for _, vr := range ranges {
		if vr.Version != "" {
			parts = append(parts, vr.Version)
			continue
		}
		var words []string
		if vr.Introduced != "" {
			words = append(words, ">="+vr.Introduced)
		}
		if vr.Fixed != "" {
			words = append(words, "<"+vr.Fixed)
		}
		if vr.LastAffected != "" {
			words = append(words, "<="+vr.LastAffected)
		}
		parts = append(parts, strings.Join(words, " "))
	}
	return strings.Join(parts, ", ")
}

// readTexts reads each configured language's column. A language left
// empty is not written; a text that changed is stamped with now, so that
// translations older than the primary language's are flagged.
func readTexts(r *http.Request, base publication.Content, langs []string, now time.Time) []publication.Text {
	f := r.PostForm
	var out []publication.Text
	for _, lang := range langs {
		t := publication.Text{
			Lang:    lang,
			Title:   strings.TrimSpace(f.Get(lang + "-title")),
			Summary: strings.TrimSpace(f.Get(lang + "-summary")),
			Body:    strings.ReplaceAll(f.Get(lang+"-body"), "\r\n", "\n"),
		}
		for _, kind := range publication.RecommendationKinds {
			for _, l := range lines(f.Get(lang + "-rec-" + kind)) {
				t.Recommendations = append(t.Recommendations, publication.Recommendation{Kind: kind, Text: l})
			}
		}
		if t.Title == "" && t.Summary == "" && strings.TrimSpace(t.Body) == "" && len(t.Recommendations) == 0 {
			continue
		}
		t.Updated = now
		if old, ok := base.Text(lang); ok && old.Lang == lang && sameText(old, t) {
			t.Updated = old.Updated
		}
		out = append(out, t)
	}
	return out
}

func sameText(a, b publication.Text) bool {
	return a.Title == b.Title && a.Summary == b.Summary && a.Body == b.Body && slices.Equal(a.Recommendations, b.Recommendations)
}

// recommendationsOf returns t's recommendations of kind, one a line, for
// the editor's text areas.
func recommendationsOf(t publication.Text, kind string) string {
	var out []string
	for _, r := range t.Recommendations {
		if r.Kind == kind {
			out = append(out, r.Text)
		}
	}
	return strings.Join(out, "\n")
}
