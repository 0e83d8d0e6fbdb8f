package products

import (
	"strings"

	"github.com/vigil-cert/vigil/internal/publication"
)

// Match is one declaration an advisory concerns: which of the
// advisory's products it is, and the version range its version is in.
type Match struct {
	Declaration Declaration
	Product     publication.Product
	// Range is the range the declared version is in; nil when the product
	// lists no versions (every version is affected) or the version is
	// unknown.
	Range *publication.VersionRange
	// VersionUnknown is set when the declaration names no version: it
	// matches any range, and the constituent is asked to check.
	VersionUnknown bool
}

// identity is what a product or a declaration is matched by.
type identity struct {
	part, vendor, product string // CPE values (escaped, may hold wildcards) or names
	purlType              string
	cpe                   bool
	version               string
}

func declarationIdentity(d Declaration) identity {
	if d.CPE != "" {
		if c, err := ParseCPE(d.CPE); err == nil {
			return identity{part: c.Part(), vendor: c.Vendor(), product: c.Product(), version: d.Version, cpe: true}
		}
	}
	id := identity{vendor: d.Vendor, product: d.Product, version: d.Version}
	if d.PURL != "" {
		if p, err := ParsePURL(d.PURL); err == nil {
			id.purlType = p.Type
		}
	}
	return id
}

// productIdentities are the ways an advisory's product is named: by its
// CPE name, by its Package URL, by its vendor and product; each is
// tried.
func productIdentities(p publication.Product) []identity {
	var out []identity
	if p.CPE != "" {
		if c, err := ParseCPE(p.CPE); err == nil {
			out = append(out, identity{part: c.Part(), vendor: c.Vendor(), product: c.Product(), version: c.Unquoted(3), cpe: true})
		}
	}
	if p.PURL != "" {
		if u, err := ParsePURL(p.PURL); err == nil {
			out = append(out, identity{purlType: u.Type, vendor: u.Namespace, product: u.Name, version: u.Version})
		}
	}
	if strings.TrimSpace(p.Product) != "" {
		out = append(out, identity{vendor: p.Vendor, product: p.Product})
	}
	return out
}

// sameProduct reports whether a (the advisory's) and d (the
// declaration's) name one product: the names alike, the vendors alike
// when both are known, and the CPE parts and Package URL types alike
// when both have one. CPE values may hold wildcards.
func sameProduct(a, d identity) bool {
	if a.cpe && d.cpe && a.part != CPEAny && d.part != CPEAny && a.part != d.part {
		return false
	}
	if a.purlType != "" && d.purlType != "" && a.purlType != d.purlType {
		return false
	}
	if !nameMatches(a.product, a.cpe, d.product, d.cpe) {
		return false
	}
	return nameMatches(a.vendor, a.cpe, d.vendor, d.cpe)
}

// nameMatches compares two names, each either a CPE value (escaped,
// maybe a wildcard) or a plain name; an empty name matches any.
func nameMatches(a string, aCPE bool, b string, bCPE bool) bool {
	if !aCPE {
		a = cpeQuote(a)
	}
	if !bCPE {
		b = cpeQuote(b)
	}
	return cpeValueMatches(a, b)
}

// cpeQuote writes a plain name as a CPE value: spaces as underscores,
// special characters escaped, so that it compares as one.
func cpeQuote(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			b.WriteByte('_')
		case isAlnum(c) || c == '_' || c == '-' || c == '.' || c >= 0x80:
			b.WriteByte(c)
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String()
}

// InRange reports whether version is in r: exactly r.Version when only
// it is given; otherwise from r.Introduced (or r.Version; inclusive;
// "" or "0" for all before) up to r.Fixed (exclusive) or r.LastAffected
// (inclusive), either open when empty. "*" as Version is every version.
func InRange(version string, r publication.VersionRange) bool {
	if r.Introduced == "" && r.Fixed == "" && r.LastAffected == "" {
		if r.Version == "" || r.Version == "*" {
			return true
		}
		return CompareVersions(version, r.Version) == 0
	}
	low := r.Introduced
	if low == "" {
		low = r.Version
	}
	if low != "" && low != "0" && low != "*" && CompareVersions(version, low) < 0 {
		return false
	}
	if r.Fixed != "" && r.Fixed != "*" && CompareVersions(version, r.Fixed) >= 0 {
		return false
	}
	if r.LastAffected != "" && r.LastAffected != "*" && CompareVersions(version, r.LastAffected) > 0 {
		return false
	}
	return true
}

// affected says whether version is affected by p as id names it: the
// range it is in (nil for all versions), and whether it is.
func affected(version string, p publication.Product, id identity) (*publication.VersionRange, bool) {
	if len(p.Versions) == 0 {
		// A CPE name with a version names that version alone.
		if id.cpe && id.version != "" {
			r := publication.VersionRange{Version: id.version}
			return &r, InRange(version, r)
		}
		return nil, true
	}
	for i := range p.Versions {
		if InRange(version, p.Versions[i]) {
			r := p.Versions[i]
			return &r, true
		}
	}
	return nil, false
}

// Concerns returns the declarations that adv concerns, at most one match
// each (the first of adv's products that matches): a declaration
// matches a product when they name one product (sameProduct) and its
// version is affected; a declaration without a version matches whatever
// the versions, with VersionUnknown set. Only an advisory concerns
// anyone: other kinds, and withdrawn or unpublished advisories, return
// nil.
func Concerns(adv publication.Publication, declared []Declaration) []Match {
	if adv.Kind != publication.KindAdvisory || adv.Status != publication.StatusPublished {
		return nil
	}
	return matchProducts(adv.Products, declared)
}

// matchProducts is Concerns without the advisory's status.
func matchProducts(products []publication.Product, declared []Declaration) []Match {
	var out []Match
	for _, d := range declared {
		did := declarationIdentity(d)
		if m, ok := matchOne(products, d, did); ok {
			out = append(out, m)
		}
	}
	return out
}

func matchOne(products []publication.Product, d Declaration, did identity) (Match, bool) {
	for _, p := range products {
		for _, pid := range productIdentities(p) {
			if !sameProduct(pid, did) {
				continue
			}
			if d.Version == "" || d.Version == "*" || d.Version == "-" {
				return Match{Declaration: d, Product: p, VersionUnknown: true}, true
			}
			if r, ok := affected(d.Version, p, pid); ok {
				return Match{Declaration: d, Product: p, Range: r}, true
			}
		}
	}
	return Match{}, false
}

// ProductKeys are the normalised product names that products are named
// by, for the store's query; all is set when one of them is a wildcard
// (then every declaration may match).
func ProductKeys(products []publication.Product) (keys []string, all bool) {
	seen := map[string]bool{}
	for _, p := range products {
		for _, id := range productIdentities(p) {
			name := id.product
			if id.cpe {
				if name == CPEAny || hasWildcard(name) {
					return nil, true
				}
				name = unescape(name)
			}
			k := NormaliseName(name)
			if k != "" && !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys, false
}
