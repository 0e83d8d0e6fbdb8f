package csaf

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/vigil-cert/vigil/internal/publication"
)

// status is which product ids are affected and which fixed.
type status struct {
	affected []string
	fixed    []string
}

// products makes the product tree of an advisory: vendor → product name →
// product version (an exact version, or a fixed one) or product version
// range (in vers), each leaf a product with an id and its CPE or PURL.
func products(prods []publication.Product) (*productTree, status, error) {
	var st status
	if len(prods) == 0 {
		return nil, st, publication.Refuse("products", "csaf.error.products")
	}
	n := 0
	newID := func() string { n++; return fmt.Sprintf("CSAFPID-%04d", n) }
	tree := &productTree{}
	vendors := map[string]int{}
	for i, pr := range prods {
		field := "products[" + strconv.Itoa(i) + "]"
		vendor, name := strings.TrimSpace(pr.Vendor), strings.TrimSpace(pr.Product)
		if vendor == "" {
			return nil, st, publication.Refuse(field+".vendor", "csaf.error.required", "vendor")
		}
		if name == "" {
			return nil, st, publication.Refuse(field+".product", "csaf.error.required", "product")
		}
		vi, ok := vendors[vendor]
		if !ok {
			vi = len(tree.Branches)
			vendors[vendor] = vi
			tree.Branches = append(tree.Branches, branch{Category: "vendor", Name: vendor})
		}
		full := vendor + " " + name
		pb := branch{Category: "product_name", Name: name}
		if len(pr.Versions) == 0 {
			id := newID()
			pb.Product = &product{Name: full, ID: id, Helper: helperOf(pr, "")}
			st.affected = append(st.affected, id)
		}
		seen := map[string]bool{}
		for j, v := range pr.Versions {
			if v == (publication.VersionRange{}) {
				return nil, st, publication.Refuse(field+".versions["+strconv.Itoa(j)+"]", "csaf.error.version")
			}
			leaf := branch{Category: "product_version", Name: v.Version}
			exact := v.Version
			if v.Version == "" {
				leaf = branch{Category: "product_version_range", Name: vers(v)}
			}
			if !seen[leaf.Category+leaf.Name] {
				seen[leaf.Category+leaf.Name] = true
				id := newID()
				leaf.Product = &product{Name: full + " " + versionName(v), ID: id, Helper: helperOf(pr, exact)}
				pb.Branches = append(pb.Branches, leaf)
				st.affected = append(st.affected, id)
			}
			if fixed := strings.TrimSpace(v.Fixed); fixed != "" && !seen["product_version"+fixed] {
				seen["product_version"+fixed] = true
				id := newID()
				pb.Branches = append(pb.Branches, branch{Category: "product_version", Name: fixed,
					Product: &product{Name: full + " " + fixed, ID: id, Helper: helperOf(pr, fixed)}})
				st.fixed = append(st.fixed, id)
			}
		}
		tree.Branches[vi].Branches = append(tree.Branches[vi].Branches, pb)
	}
	return tree, st, nil
}

// versionName says a range in words for a product's full name.
func versionName(v publication.VersionRange) string {
	if v.Version != "" {
		return v.Version
	}
	return vers(v)
}

// vers writes a range in the vers notation (generic scheme): from
// Introduced up to Fixed (exclusive) or LastAffected (inclusive).
func vers(v publication.VersionRange) string {
	var parts []string
	if in := strings.TrimSpace(v.Introduced); in != "" && in != "0" {
		parts = append(parts, ">="+versEscape(in))
	}
	switch {
	case strings.TrimSpace(v.Fixed) != "":
		parts = append(parts, "<"+versEscape(strings.TrimSpace(v.Fixed)))
	case strings.TrimSpace(v.LastAffected) != "":
		parts = append(parts, "<="+versEscape(strings.TrimSpace(v.LastAffected)))
	}
	if len(parts) == 0 {
		return "vers:generic/*"
	}
	return "vers:generic/" + strings.Join(parts, "|")
}

// versEscape percent-encodes what vers reserves in a version.
func versEscape(s string) string {
	return strings.NewReplacer("%", "%25", "|", "%7C", "<", "%3C", ">", "%3E", "=", "%3D", "!", "%21", " ", "%20").Replace(s)
}

// helperOf identifies a product by CPE or PURL, with the exact version
// when there is one.
func helperOf(pr publication.Product, version string) *helper {
	h := &helper{CPE: strings.TrimSpace(pr.CPE), PURL: strings.TrimSpace(pr.PURL)}
	if version != "" {
		if parts := strings.Split(h.CPE, ":"); len(parts) == 13 && parts[5] == "*" && !strings.ContainsFunc(version, unicode.IsSpace) {
			parts[5] = cpeEscape(version)
			h.CPE = strings.Join(parts, ":")
		}
		if h.PURL != "" && !strings.Contains(h.PURL, "@") {
			base, rest, _ := strings.Cut(h.PURL, "?")
			h.PURL = base + "@" + url.PathEscape(version)
			if rest != "" {
				h.PURL += "?" + rest
			}
		}
	}
	if *h == (helper{}) {
		return nil
	}
	return h
}

// cpeEscape quotes what CPE 2.3's formatted string binding reserves.
func cpeEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// vulnerabilities makes one vulnerability per CVE (one without a CVE when
// there is none), each with the advisory's weakness, scores, product
// status and remediations.
func vulnerabilities(p *publication.Publication, text publication.Text, st status) ([]vulnerability, error) {
	base := vulnerability{ProductStatus: &productStatus{KnownAffected: st.affected, Fixed: st.fixed}}
	desc := strings.TrimSpace(text.Summary)
	if desc == "" {
		desc = text.Title
	}
	base.Notes = append(base.Notes, note{Category: "description", Title: "Description", Text: desc})
	var otherCWEs []string
	for _, id := range p.CWEs {
		if name, ok := cweNames[id]; ok && base.CWE == nil {
			base.CWE = &cwe{ID: id, Name: name}
			continue
		}
		otherCWEs = append(otherCWEs, id)
	}
	if len(otherCWEs) > 0 {
		base.Notes = append(base.Notes, note{Category: "other", Title: "CWE", Text: strings.Join(otherCWEs, ", ")})
	}
	for i, c := range p.CVSS {
		field := "cvss[" + strconv.Itoa(i) + "]"
		switch {
		case strings.HasPrefix(c.Vector, "CVSS:3.1/"), strings.HasPrefix(c.Vector, "CVSS:3.0/"):
			if len(base.Scores) > 0 {
				// One CVSS v3 score per product (mandatory test 6.1.5):
				// the others are notes.
				base.Notes = append(base.Notes, note{Category: "other", Title: "CVSS", Text: scoreText(c)})
				continue
			}
			base.Scores = append(base.Scores, score{Products: st.affected, CVSSv3: &cvssV3{
				Version: c.Vector[5:8], VectorString: c.Vector, BaseScore: c.Score, BaseSeverity: severityOf(c),
			}})
		case strings.HasPrefix(c.Vector, "CVSS:4.0/"):
			// CSAF 2.0 has no field for CVSS 4.0.
			base.Notes = append(base.Notes, note{Category: "other", Title: "CVSS 4.0", Text: scoreText(c)})
		default:
			return nil, publication.Refuse(field+".vector", "csaf.error.cvss", c.Vector)
		}
	}
	for _, r := range text.Recommendations {
		details := strings.TrimSpace(r.Text)
		if details == "" {
			continue
		}
		switch r.Kind {
		case publication.RecommendPatch:
			base.Remediations = append(base.Remediations, remediation{Category: "vendor_fix", Details: details, ProductIDs: st.affected})
		case publication.RecommendMitigate:
			base.Remediations = append(base.Remediations, remediation{Category: "mitigation", Details: details, ProductIDs: st.affected})
		case publication.RecommendWorkaround:
			base.Remediations = append(base.Remediations, remediation{Category: "workaround", Details: details, ProductIDs: st.affected})
		default:
			base.Notes = append(base.Notes, note{Category: "details", Title: "Detection", Text: details})
		}
	}
	if len(p.CVEs) == 0 {
		return []vulnerability{base}, nil
	}
	out := make([]vulnerability, 0, len(p.CVEs))
	seen := map[string]bool{}
	for i, id := range p.CVEs {
		if !cvePattern.MatchString(id) {
			return nil, publication.Refuse("cves["+strconv.Itoa(i)+"]", "csaf.error.cve", id)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		v := base
		v.CVE = id
		out = append(out, v)
	}
	return out, nil
}

// scoreText is a score for a note: the vector and what it computes to.
func scoreText(c publication.CVSS) string {
	s := c.Vector
	if c.Score > 0 || c.Severity != "" {
		s += " (" + strconv.FormatFloat(c.Score, 'f', 1, 64)
		if c.Severity != "" {
			s += ", " + c.Severity
		}
		s += ")"
	}
	return s
}

// severityOf is the qualitative rating of a CVSS v3 score in capitals, as
// the CVSS JSON schema writes it, from the score when not given.
func severityOf(c publication.CVSS) string {
	if c.Severity != "" {
		return strings.ToUpper(c.Severity)
	}
	switch {
	case c.Score == 0:
		return "NONE"
	case c.Score < 4:
		return "LOW"
	case c.Score < 7:
		return "MEDIUM"
	case c.Score < 9:
		return "HIGH"
	}
	return "CRITICAL"
}
