package publication

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Bounds of a publication's fields.
const (
	MaxTitle      = 300
	MaxSummary    = 4000
	MaxBody       = 200 << 10
	MaxListItems  = 500 // CVEs, CWEs, products, references, tags, recommendations
	MaxShortField = 1000
)

var (
	cvePattern = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,19}$`)
	cwePattern = regexp.MustCompile(`^CWE-[0-9]{1,6}$`)
)

// Rules are what Check holds a publication's content to: the configured
// languages (the primary first) and severity scale.
type Rules struct {
	Languages  []string
	Severities []string
}

// DefaultSeverity is the severity of a draft Vigil writes when its
// source gives none the scale knows: "medium" when the scale has it, else
// the scale's middle.
func (r Rules) DefaultSeverity() string {
	if slices.Contains(r.Severities, "medium") || len(r.Severities) == 0 {
		return "medium"
	}
	return r.Severities[len(r.Severities)/2]
}

// Check refuses content that Vigil would not publish, with the field
// that is wrong: an unknown severity, language or TLP, a missing title
// in the primary language, malformed CVE or CWE ids, references that are
// not http(s) URLs, bounds exceeded. It also normalises: ids upper-cased,
// lists without duplicates, the severity lower-cased.
func (r Rules) Check(c *Content) error {
	c.Severity = strings.ToLower(strings.TrimSpace(c.Severity))
	if !slices.Contains(r.Severities, c.Severity) {
		return Refuse("severity", "publication.error.severity", c.Severity)
	}
	if !c.TLP.Valid() {
		return Refuse("tlp", "publication.error.tlp", string(c.TLP))
	}
	if err := r.checkTexts(c.Texts); err != nil {
		return err
	}
	var err error
	if c.CVEs, err = ids("cves", c.CVEs, cvePattern); err != nil {
		return err
	}
	if c.CWEs, err = ids("cwes", c.CWEs, cwePattern); err != nil {
		return err
	}
	if len(c.Products) > MaxListItems || len(c.References) > MaxListItems || len(c.Tags) > MaxListItems || len(c.CVSS) > 10 {
		return Refuse("", "publication.error.toomany", MaxListItems)
	}
	for i, p := range c.Products {
		if strings.TrimSpace(p.Product) == "" && p.CPE == "" && p.PURL == "" {
			return Refuse(fmt.Sprintf("products[%d].product", i), "publication.error.required")
		}
		if long(p.Vendor, p.Product, p.CPE, p.PURL) || len(p.Versions) > MaxListItems {
			return Refuse(fmt.Sprintf("products[%d]", i), "publication.error.long", MaxShortField)
		}
	}
	for i, ref := range c.References {
		u, err := url.Parse(ref.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || long(ref.URL, ref.Title) {
			return Refuse(fmt.Sprintf("references[%d].url", i), "publication.error.url", ref.URL)
		}
	}
	c.Tags = dedupe(c.Tags)
	for i, t := range c.Tags {
		if long(t) {
			return Refuse(fmt.Sprintf("tags[%d]", i), "publication.error.long", MaxShortField)
		}
	}
	return nil
}

func (r Rules) checkTexts(texts []Text) error {
	if len(texts) == 0 || strings.TrimSpace(texts[0].Title) == "" {
		return Refuse("texts[0].title", "publication.error.title")
	}
	if len(r.Languages) > 0 && texts[0].Lang != r.Languages[0] {
		return Refuse("texts[0].lang", "publication.error.primary", r.Languages[0])
	}
	seen := map[string]bool{}
	for i, t := range texts {
		field := fmt.Sprintf("texts[%d]", i)
		if !slices.Contains(r.Languages, t.Lang) || seen[t.Lang] {
			return Refuse(field+".lang", "publication.error.lang", t.Lang)
		}
		seen[t.Lang] = true
		switch {
		case utf8.RuneCountInString(t.Title) > MaxTitle:
			return Refuse(field+".title", "publication.error.long", MaxTitle)
		case utf8.RuneCountInString(t.Summary) > MaxSummary:
			return Refuse(field+".summary", "publication.error.long", MaxSummary)
		case len(t.Body) > MaxBody:
			return Refuse(field+".body", "publication.error.long", MaxBody)
		case len(t.Recommendations) > MaxListItems:
			return Refuse(field+".recommendations", "publication.error.toomany", MaxListItems)
		}
		for j, rec := range t.Recommendations {
			if !slices.Contains(RecommendationKinds, rec.Kind) {
				return Refuse(fmt.Sprintf("%s.recommendations[%d].kind", field, j), "publication.error.recommendation", rec.Kind)
			}
		}
	}
	return nil
}

// ids upper-cases, trims and de-duplicates a list of ids and refuses one
// that does not match pattern.
func ids(field string, list []string, pattern *regexp.Regexp) ([]string, error) {
	out := list[:0:0]
	for i, id := range list {
		id = strings.ToUpper(strings.TrimSpace(id))
		if id == "" {
			continue
		}
		if !pattern.MatchString(id) {
			return nil, Refuse(fmt.Sprintf("%s[%d]", field, i), "publication.error.id", id)
		}
		out = append(out, id)
	}
	if len(out) > MaxListItems {
		return nil, Refuse(field, "publication.error.toomany", MaxListItems)
	}
	return dedupe(out), nil
}

// dedupe drops empty and repeated items, keeping the first order.
func dedupe(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := list[:0:0]
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func long(fields ...string) bool {
	for _, f := range fields {
		if len(f) > MaxShortField {
			return true
		}
	}
	return false
}
