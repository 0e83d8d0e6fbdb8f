package csaf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strings"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// MaxImportSize is the largest CSAF document Import reads.
const MaxImportSize = 8 << 20

// Import reads a CSAF 2.0 document (a vendor's advisory) into the
// content of a draft: a csaf_security_advisory or csaf_vex as an
// advisory, a csaf_informational_advisory as a warning. The document
// must be valid (Validate); a malformed one is refused with an
// *publication.InputError naming the JSON field that is wrong. An
// unlabeled document is imported as TLP:AMBER, so that nothing becomes
// public before the analyst decides.
func Import(r io.Reader) (publication.Content, publication.Kind, error) {
	adv, kind, err := read(r)
	if err != nil {
		return publication.Content{}, "", err
	}
	return contentOf(adv, false), kind, nil
}

// read reads and validates a CSAF 2.0 document, and says which kind of
// publication it makes.
func read(r io.Reader) (*advisory, publication.Kind, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImportSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("csaf: import: %w", err)
	}
	if len(data) > MaxImportSize {
		return nil, "", publication.Refuse("", "csaf.error.size", MaxImportSize)
	}
	var adv advisory
	if err := json.Unmarshal(data, &adv); err != nil {
		return nil, "", jsonRefusal(err)
	}
	var kind publication.Kind
	switch adv.Document.Category {
	case CategorySecurity, "csaf_vex":
		kind = publication.KindAdvisory
	case CategoryInformational:
		kind = publication.KindWarning
	default:
		return nil, "", publication.Refuse("document/category", "csaf.error.category", adv.Document.Category)
	}
	if err := validate(data, &adv); err != nil {
		return nil, "", err
	}
	return &adv, kind, nil
}

// jsonRefusal says what encoding/json refused in the reader's words,
// not Go's: the field of the wrong type and the JSON type found there,
// or the byte where the JSON breaks.
func jsonRefusal(err error) *publication.InputError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		field := strings.ReplaceAll(te.Field, ".", "/")
		return publication.Refuse(field, "csaf.error.type", field, jsonType(te.Value))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return publication.Refuse("", "csaf.error.syntax", se.Offset)
	}
	return publication.Refuse("", "csaf.error.json", err.Error())
}

// jsonType names the JSON type encoding/json found ("number",
// "object", ...) in the reader's words.
func jsonType(value string) i18n.Message {
	kind, _, _ := strings.Cut(value, " ")
	switch kind {
	case "number", "string", "bool", "array", "object":
		return i18n.M("csaf.json." + kind)
	}
	return i18n.M("csaf.json.value")
}

// contentOf maps a valid document to a publication's content. Every
// list is kept free of duplicates with a set beside it, in the
// document's order, so that a large document costs time in proportion
// to its size. A draft's content (ImportDraft) stops each list at what a
// publication holds and the body at publication.MaxBody, so that a
// large document is not built in full only to be cut by fit: what it
// keeps is what fit would keep.
func contentOf(a *advisory, draft bool) publication.Content {
	d := &a.Document
	c := publication.Content{TLP: publication.TLPAmber}
	if d.Distribution != nil && d.Distribution.TLP != nil {
		switch d.Distribution.TLP.Label {
		case "WHITE":
			c.TLP = publication.TLPClear
		case "GREEN":
			c.TLP = publication.TLPGreen
		case "RED":
			c.TLP = publication.TLPRed
		case "AMBER":
			// CSAF 2.0 has TLP 1's labels only; the distribution text
			// keeps TLP 2.0's AMBER+STRICT (Document writes it there).
			if strings.Contains(d.Distribution.Text, "TLP:"+string(publication.TLPAmberStrict)) {
				c.TLP = publication.TLPAmberStrict
			}
		}
	}
	text := publication.Text{Lang: strings.ToLower(d.Lang), Title: d.Title}
	if text.Lang == "" {
		text.Lang = "en"
	}
	text.Lang, _, _ = strings.Cut(text.Lang, "-")
	listMax, bodyMax := math.MaxInt, math.MaxInt
	if draft {
		listMax, bodyMax = publication.MaxListItems, publication.MaxBody
	}
	// The body's notes, each once, and the length of their joining: a
	// note that would start past what the body holds is cut anyway.
	var body []string
	bodySeen, bodyLen := map[string]bool{}, 0
	addBody := func(t string, twice bool) {
		if bodyLen >= bodyMax || bodySeen[t] && !twice {
			return
		}
		if len(body) > 0 {
			bodyLen += len("\n\n")
		}
		bodyLen += len(t)
		bodySeen[t] = true
		body = append(body, t)
	}
	for _, n := range d.Notes {
		switch {
		case n.Category == "summary" && text.Summary == "":
			text.Summary = n.Text
		case n.Category == "description" || n.Category == "details" || n.Category == "summary" || n.Category == "general":
			// The document's own notes are all kept, even twice.
			addBody(noteText(n), true)
		}
	}
	refs := newList[publication.Reference](listMax)
	addReference := func(r reference) {
		if draft && !webAddress(r.URL) {
			// fit leaves it out; it still counts as seen, as there.
			refs.seen[r.URL] = true
			return
		}
		refs.add(r.URL, publication.Reference{URL: r.URL, Title: r.Summary})
	}
	for _, r := range d.References {
		addReference(r)
	}
	cves, cwes := newList[string](listMax), newList[string](listMax)
	// All scores, even in a draft: the severity is the worst of them.
	scores := newList[publication.CVSS](math.MaxInt)
	recommendations := newList[publication.Recommendation](listMax)
	affected := map[string]bool{}
	for _, v := range a.Vulnerabilities {
		if v.CVE != "" {
			cves.add(v.CVE, v.CVE)
		}
		if v.CWE != nil {
			cwes.add(v.CWE.ID, v.CWE.ID)
		}
		for _, s := range v.Scores {
			if s.CVSSv3 != nil {
				scores.add(s.CVSSv3.VectorString, publication.CVSS{Version: s.CVSSv3.Version, Vector: s.CVSSv3.VectorString,
					Score: s.CVSSv3.BaseScore, Severity: strings.ToLower(s.CVSSv3.BaseSeverity)})
			}
		}
		if st := v.ProductStatus; st != nil {
			// Products still under investigation may concern constituents
			// too: the draft names them, and the analyst decides.
			for _, ids := range [][]string{st.FirstAffected, st.KnownAffected, st.LastAffected, st.UnderInvestigation} {
				for _, id := range ids {
					affected[id] = true
				}
			}
		}
		for _, r := range v.Remediations {
			if kind := recommendationOf(r.Category); kind != "" {
				recommendations.add(r.Details, publication.Recommendation{Kind: kind, Text: r.Details})
			}
		}
		for _, r := range v.References {
			addReference(r)
		}
		for _, n := range v.Notes {
			if n.Category == "description" || n.Category == "details" || n.Category == "summary" {
				addBody(noteText(n), false)
			}
		}
	}
	c.References, c.CVEs, c.CWEs, c.CVSS = refs.items, cves.items, cwes.items, scores.items
	text.Recommendations = recommendations.items
	text.Body = strings.Join(body, "\n\n")
	if text.Summary == "" && len(body) > 0 {
		text.Summary, _, _ = strings.Cut(body[0], "\n")
	}
	c.Texts = []publication.Text{text}
	c.Severity = severityOfImport(d, c.CVSS)
	if a.ProductTree != nil {
		c.Products = productsOf(a.ProductTree, affected, listMax)
	}
	return c
}

// list is a list without duplicates, each item known by a key, of at
// most limit items: what is added beyond is left out.
type list[T any] struct {
	items []T
	seen  map[string]bool
	limit int
}

func newList[T any](limit int) *list[T] {
	return &list[T]{seen: map[string]bool{}, limit: limit}
}

// add appends item unless an item of the same key is in the list or
// the list is full, and says whether it did.
func (l *list[T]) add(key string, item T) bool {
	if l.seen[key] || len(l.items) >= l.limit {
		return false
	}
	l.seen[key] = true
	l.items = append(l.items, item)
	return true
}

// noteText is a note as Markdown, its title as a heading.
func noteText(n note) string {
	if n.Title == "" {
		return n.Text
	}
	return "## " + n.Title + "\n\n" + n.Text
}

// webAddress reports whether a reference's address is one a
// publication cites: an http(s) URL with a host, no longer than a short
// field.
func webAddress(address string) bool {
	u, err := url.Parse(address)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && len(address) <= publication.MaxShortField
}

// recommendationOf maps a remediation category to a recommendation kind;
// "" for those that recommend nothing (none_available, no_fix_planned).
func recommendationOf(category string) string {
	switch category {
	case "vendor_fix":
		return publication.RecommendPatch
	case "mitigation":
		return publication.RecommendMitigate
	case "workaround":
		return publication.RecommendWorkaround
	}
	return ""
}

// severityOfImport is the aggregate severity when it is one of the
// default scale's names, else the worst CVSS rating.
func severityOfImport(d *docMeta, scores []publication.CVSS) string {
	if d.AggregateSeverity != nil {
		if s := strings.ToLower(strings.TrimSpace(d.AggregateSeverity.Text)); slices.Contains(publication.DefaultSeverities, s) {
			return s
		}
	}
	best := -1
	for _, c := range scores {
		if i := slices.Index(publication.DefaultSeverities, c.Severity); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return publication.DefaultSeverities[best]
}

// productsOf collects the affected products of a product tree: each
// vendor's product with its affected versions and ranges, with the CPE
// or PURL of its first product that has one. It collects at most limit
// products, each with at most limit versions.
func productsOf(t *productTree, affected map[string]bool, limit int) []publication.Product {
	var out []publication.Product
	type key struct{ vendor, product string }
	index := map[key]int{}
	type version struct {
		product int
		r       publication.VersionRange
	}
	versions := map[version]bool{}
	// find returns the index of the vendor's product in out, adding it;
	// -1 when out holds limit products already.
	find := func(vendor, product string) int {
		if i, ok := index[key{vendor, product}]; ok {
			return i
		}
		if len(out) >= limit {
			return -1
		}
		out = append(out, publication.Product{Vendor: vendor, Product: product})
		index[key{vendor, product}] = len(out) - 1
		return len(out) - 1
	}
	var walk func(bs []branch, vendor, name string)
	walk = func(bs []branch, vendor, name string) {
		for _, b := range bs {
			v, n := vendor, name
			switch b.Category {
			case "vendor":
				v = b.Name
			case "product_name":
				n = b.Name
			}
			if b.Product != nil && affected[b.Product.ID] {
				if n == "" {
					n = b.Product.Name
				}
				if i := find(v, n); i >= 0 {
					p := &out[i]
					if r, ok := rangeOf(b); ok && !versions[version{i, r}] && len(p.Versions) < limit {
						versions[version{i, r}] = true
						p.Versions = append(p.Versions, r)
					}
					if h := b.Product.Helper; h != nil && p.CPE == "" && p.PURL == "" {
						p.CPE, p.PURL = h.CPE, h.PURL
					}
				}
			}
			walk(b.Branches, v, n)
		}
	}
	walk(t.Branches, "", "")
	for _, fp := range t.FullProductNames {
		if affected[fp.ID] {
			if i := find("", fp.Name); i >= 0 && fp.Helper != nil && out[i].CPE == "" && out[i].PURL == "" {
				out[i].CPE, out[i].PURL = fp.Helper.CPE, fp.Helper.PURL
			}
		}
	}
	return out
}

// rangeOf reads the version a product_version or product_version_range
// branch names; vers ranges of the forms >=, <, <= and = are understood.
func rangeOf(b branch) (publication.VersionRange, bool) {
	switch b.Category {
	case "product_version":
		return publication.VersionRange{Version: b.Name}, true
	case "product_version_range":
	default:
		return publication.VersionRange{}, false
	}
	_, constraints, ok := strings.Cut(strings.TrimPrefix(b.Name, "vers:"), "/")
	if !ok || !strings.HasPrefix(b.Name, "vers:") {
		return publication.VersionRange{}, false
	}
	var r publication.VersionRange
	for _, c := range strings.Split(constraints, "|") {
		c = strings.TrimSpace(c)
		switch {
		case strings.HasPrefix(c, ">="):
			r.Introduced = versUnescape(c[2:])
		case strings.HasPrefix(c, "<="):
			r.LastAffected = versUnescape(c[2:])
		case strings.HasPrefix(c, "<"):
			r.Fixed = versUnescape(c[1:])
		case strings.HasPrefix(c, "="):
			r.Version = versUnescape(c[1:])
		case c == "*":
			r.Introduced = "0"
		case c != "" && !strings.ContainsAny(c, "<>!="):
			r.Version = versUnescape(c)
		default:
			return publication.VersionRange{}, false
		}
	}
	return r, r != publication.VersionRange{}
}

func versUnescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
