package constituency

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// Severity tells errors, which stop an import, from notes, which only
// inform.
type Severity int

const (
	// SeverityError is a problem that must be fixed before the
	// constituency is saved.
	SeverityError Severity = iota
	// SeverityNote is worth knowing but allowed, such as a network inside
	// another organisation's network.
	SeverityNote
)

func (s Severity) String() string {
	if s == SeverityNote {
		return "note"
	}
	return "error"
}

// Problem is one thing wrong (or worth knowing) about a constituency or
// the file it was read from.
type Problem struct {
	Severity Severity
	// Line is the line of the input it was found on; 0 when it does not
	// come from a file.
	Line int
	// Field is a Field… name, "" for the input as a whole.
	Field  string
	Value  string
	Reason string
	// Message is Reason by catalogue ID, for the console and the command
	// line to translate. Every problem this package reports has one; a
	// wrapped parser's own text (the JSON decoder's, the CSV reader's) is
	// an argument of it, and stays English.
	Message i18n.Message
	// Handle is the organisation concerned, "" when not known.
	Handle string
}

func (p Problem) String() string {
	return p.write(i18n.Embedded(), i18n.Source, p.Reason)
}

// In writes p as String does, in lang from c: "note" and "line" and
// the reason, when it has a Message, are the catalogue's.
func (p Problem) In(c *i18n.Catalog, lang string) string {
	reason := p.Reason
	if !p.Message.IsZero() {
		reason = p.Message.In(c, lang)
	}
	return p.write(c, lang, reason)
}

func (p Problem) write(c *i18n.Catalog, lang, reason string) string {
	var b strings.Builder
	if p.Severity == SeverityNote {
		b.WriteString(c.T(lang, "constituency.problem.note") + " ")
	}
	if p.Line > 0 {
		b.WriteString(c.T(lang, "constituency.problem.line", p.Line) + " ")
	}
	if p.Handle != "" && !(p.Field == FieldHandle && p.Value == p.Handle) {
		fmt.Fprintf(&b, "%s: ", p.Handle)
	}
	switch v := p.Value; {
	case p.Field == "":
	case v == "":
		fmt.Fprintf(&b, "%s: ", p.Field)
	default:
		if len(v) > 80 {
			v = v[:77] + "..."
		}
		fmt.Fprintf(&b, "%s %q: ", p.Field, v)
	}
	b.WriteString(reason)
	return b.String()
}

// HasErrors reports whether any of problems is an error rather than a note.
func HasErrors(problems []Problem) bool {
	return slices.ContainsFunc(problems, func(p Problem) bool { return p.Severity == SeverityError })
}

// InvalidError is returned when input holds errors; it carries every
// problem found, notes included, so that a person can fix them all at
// once.
type InvalidError struct {
	Problems []Problem
}

func (e *InvalidError) Error() string {
	n := 0
	first := ""
	for _, p := range e.Problems {
		if p.Severity == SeverityError {
			if n == 0 {
				first = p.String()
			}
			n++
		}
	}
	if n == 1 {
		return "invalid constituency: " + first
	}
	return fmt.Sprintf("invalid constituency: %d errors, the first: %s", n, first)
}

// Check applies the rules between the organisations of a constituency,
// which Normalize cannot see from one organisation: a network, an AS or a
// domain belongs to one organisation; a network inside another network of
// the same organisation is redundant (and so is a domain under another of
// its domains); a network inside another organisation's network is allowed,
// because the most specific network wins, and noted. orgs must be
// normalized. A problem is reported on the organisation whose handle sorts
// later, naming the other.
func Check(orgs []Organisation) []Problem {
	var problems []Problem
	add := func(sev Severity, o *Organisation, field, value string, reason i18n.Message) {
		problems = append(problems, Problem{Severity: sev, Field: field, Value: value, Reason: reason.String(), Message: reason, Handle: o.Handle})
	}
	sorted := make([]*Organisation, len(orgs))
	for i := range orgs {
		sorted[i] = &orgs[i]
	}
	slices.SortStableFunc(sorted, func(a, b *Organisation) int { return strings.Compare(a.Handle, b.Handle) })

	var (
		prefixes bart.Table[int]
		asns     = map[uint32]int{}
		domains  = map[string]int{}
	)
	for i, o := range sorted {
		if i > 0 && sorted[i-1].Handle == o.Handle {
			add(SeverityError, o, FieldHandle, o.Handle, i18n.M("constituency.error.check.handle"))
			continue
		}
		for _, p := range o.Networks {
			if j, taken := prefixes.Get(p); taken {
				add(SeverityError, o, FieldNetworks, p.String(), i18n.M("constituency.error.check.network", sorted[j].Handle))
				continue
			}
			prefixes.Insert(p, i)
		}
		for _, asn := range o.ASNs {
			if j, taken := asns[asn]; taken {
				add(SeverityError, o, FieldASNs, fmt.Sprintf("AS%d", asn),
					i18n.M("constituency.error.check.asn", sorted[j].Handle))
				continue
			}
			asns[asn] = i
		}
		for _, d := range o.Domains {
			if j, taken := domains[d]; taken {
				add(SeverityError, o, FieldDomains, d, i18n.M("constituency.error.check.domain", sorted[j].Handle))
				continue
			}
			domains[d] = i
		}
	}

	// Nesting is judged against the nearest enclosing network only: with
	// A's /8, B's /16 inside it and A's /24 inside that, A's /24 is not
	// redundant, because without it B would own those addresses.
	for i, o := range sorted {
		if i > 0 && sorted[i-1].Handle == o.Handle {
			continue
		}
		for _, p := range o.Networks {
			if owner, ok := prefixes.Get(p); !ok || owner != i {
				continue // a duplicate, reported above
			}
			outer, j, ok := enclosingPrefix(&prefixes, p)
			if !ok {
				continue
			}
			if j == i {
				add(SeverityError, o, FieldNetworks, p.String(),
					i18n.M("constituency.error.check.network.inside", outer.String()))
			} else {
				add(SeverityNote, o, FieldNetworks, p.String(),
					i18n.M("constituency.note.check.network.inside", outer.String(), sorted[j].Handle, o.Handle))
			}
		}
		for _, d := range o.Domains {
			if owner := domains[d]; owner != i {
				continue
			}
			outer, j, ok := enclosingDomain(domains, d)
			if !ok {
				continue
			}
			if j == i {
				add(SeverityError, o, FieldDomains, d,
					i18n.M("constituency.error.check.subdomain", outer))
			} else {
				add(SeverityNote, o, FieldDomains, d,
					i18n.M("constituency.note.check.subdomain", outer, sorted[j].Handle, o.Handle))
			}
		}
	}
	// By organisation, then field, then value, the order a person reads
	// the organisations in.
	rank := map[string]int{FieldHandle: 0, FieldNetworks: 1, FieldASNs: 2, FieldDomains: 3}
	slices.SortStableFunc(problems, func(a, b Problem) int {
		if c := strings.Compare(a.Handle, b.Handle); c != 0 {
			return c
		}
		if c := rank[a.Field] - rank[b.Field]; c != 0 {
			return c
		}
		return compareValues(a.Field, a.Value, b.Value)
	})
	return problems
}

// compareValues orders networks as addresses, AS numbers as numbers, the
// rest as text.
func compareValues(field, a, b string) int {
	switch field {
	case FieldNetworks:
		pa, errA := netip.ParsePrefix(a)
		pb, errB := netip.ParsePrefix(b)
		if errA == nil && errB == nil {
			return pa.Compare(pb)
		}
	case FieldASNs:
		na, errA := ParseASN(a)
		nb, errB := ParseASN(b)
		if errA == nil && errB == nil {
			return cmp.Compare(na, nb)
		}
	}
	return strings.Compare(a, b)
}

// enclosingPrefix returns the most specific network of t that contains p
// and is not p itself.
func enclosingPrefix(t *bart.Table[int], p netip.Prefix) (netip.Prefix, int, bool) {
	for outer, owner := range t.Supernets(p) {
		if outer != p {
			return outer, owner, true
		}
	}
	return netip.Prefix{}, 0, false
}

// enclosingDomain returns the longest domain of m that d is a subdomain of.
func enclosingDomain(m map[string]int, d string) (string, int, bool) {
	for s := d; ; {
		dot := strings.IndexByte(s, '.')
		if dot < 0 {
			return "", 0, false
		}
		s = s[dot+1:]
		if owner, ok := m[s]; ok {
			return s, owner, true
		}
	}
}
