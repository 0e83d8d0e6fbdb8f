package products

// CPE 2.3 names in their formatted string binding (NISTIR 7695, 6.2):
// cpe:2.3:part:vendor:product:version:update:edition:language:
// sw_edition:target_sw:target_hw:other.

import (
	"fmt"
	"strings"
)

// CPE attribute values that are not strings: "*" is any value, "-" is
// not applicable. A CPE keeps them as these markers.
const (
	CPEAny = "*"
	CPENA  = "-"
)

// cpeAttributes names a CPE's eleven attributes in their order.
var cpeAttributes = []string{"part", "vendor", "product", "version", "update", "edition",
	"language", "sw_edition", "target_sw", "target_hw", "other"}

// CPE is a parsed CPE 2.3 name: its attributes in their order (Part,
// Vendor, Product, Version, …), each the formatted string's value as
// written (still escaped, lower case), or CPEAny or CPENA.
type CPE [11]string

// Part, Vendor, Product and Version are a CPE's first attributes.
func (c CPE) Part() string    { return c[0] }
func (c CPE) Vendor() string  { return c[1] }
func (c CPE) Product() string { return c[2] }
func (c CPE) Version() string { return c[3] }

// String is the formatted string binding.
func (c CPE) String() string { return "cpe:2.3:" + strings.Join(c[:], ":") }

// Unquoted is the value of attribute i without its escapes ("" for
// CPEAny and CPENA): the product's name as a person writes it, with the
// CPE's underscores for spaces.
func (c CPE) Unquoted(i int) string {
	v := c[i]
	if v == CPEAny || v == CPENA {
		return ""
	}
	return unescape(v)
}

// CPEError says what is wrong with a CPE name: the attribute and why.
type CPEError struct {
	Attribute string // "" for the whole name
	Reason    string
}

func (e *CPEError) Error() string {
	if e.Attribute == "" {
		return "CPE 2.3 name: " + e.Reason
	}
	return "CPE 2.3 name: " + e.Attribute + ": " + e.Reason
}

// ParseCPE parses a CPE 2.3 formatted string. It checks each
// attribute's characters as the binding allows them: letters, digits,
// "_", "-" and "." as they are, any other printable character escaped
// with a backslash, an unescaped "*" or "?" only at a value's start or
// end (wildcards), "*" alone for any value and "-" alone for not
// applicable; part is a, o, h or *. Upper-case letters are taken in
// lower case, as the binding compares them.
func ParseCPE(s string) (CPE, error) {
	var c CPE
	const prefix = "cpe:2.3:"
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return c, &CPEError{Reason: `does not start with "cpe:2.3:"`}
	}
	fields, err := splitCPE(s[len(prefix):])
	if err != nil {
		return c, err
	}
	if len(fields) != len(c) {
		return c, &CPEError{Reason: fmt.Sprintf("has %d attributes after cpe:2.3, not 11", len(fields))}
	}
	for i, f := range fields {
		f = strings.ToLower(f)
		if err := checkCPEValue(f); err != nil {
			return c, &CPEError{Attribute: cpeAttributes[i], Reason: err.Error()}
		}
		c[i] = f
	}
	switch c[0] {
	case "a", "o", "h", CPEAny:
	default:
		return c, &CPEError{Attribute: "part", Reason: "is not a, o, h or *"}
	}
	return c, nil
}

// splitCPE splits at the colons that are not escaped.
func splitCPE(s string) ([]string, error) {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) {
				return nil, &CPEError{Reason: "ends in a lone backslash"}
			}
			i++
		case ':':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:]), nil
}

// checkCPEValue checks one attribute's value.
func checkCPEValue(v string) error {
	switch v {
	case "":
		return fmt.Errorf("is empty (write * for any value)")
	case CPEAny, CPENA:
		return nil
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\':
			if i+1 >= len(v) {
				return fmt.Errorf("ends in a lone backslash")
			}
			n := v[i+1]
			if n <= ' ' || n > '~' || isAlnum(n) {
				return fmt.Errorf("escapes %q, which is not a printable special character", n)
			}
			i++
		case isAlnum(c) || c == '_' || c == '-' || c == '.':
		case c == '*' || c == '?':
			if !wildcardAt(v, i) {
				return fmt.Errorf("has an unescaped %q inside the value (escape it as \\%c)", c, c)
			}
		default:
			return fmt.Errorf("has %q unescaped (escape it with a backslash)", c)
		}
	}
	return nil
}

// wildcardAt reports whether the unescaped "*" or "?" at i is a
// wildcard: "*" as the value's first or last character, "?" in a run
// that starts or ends the value.
func wildcardAt(v string, i int) bool {
	if v[i] == '*' {
		return i == 0 || i == len(v)-1
	}
	return strings.Trim(v[:i], "?") == "" || strings.Trim(v[i:], "?") == ""
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// cpeValueMatches reports whether the value of a (which may hold
// wildcards) matches the value of b, compared as names (NormaliseName)
// when neither has a wildcard. CPEAny on either side matches anything;
// CPENA matches only CPENA or CPEAny.
func cpeValueMatches(a, b string) bool {
	if a == CPEAny || b == CPEAny || a == "" || b == "" {
		return true
	}
	if a == CPENA || b == CPENA {
		return a == b
	}
	if hasWildcard(a) {
		return wildcardMatch(a, unescape(b))
	}
	if hasWildcard(b) {
		return wildcardMatch(b, unescape(a))
	}
	return NormaliseName(unescape(a)) == NormaliseName(unescape(b))
}

// hasWildcard reports whether a value starts or ends with an unescaped
// "*" or "?".
func hasWildcard(v string) bool {
	if v == "" {
		return false
	}
	if v[0] == '*' || v[0] == '?' {
		return true
	}
	n := len(v)
	return (v[n-1] == '*' || v[n-1] == '?') && (n < 2 || v[n-2] != '\\')
}

// unescape takes a value's backslashes off.
func unescape(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for j := 0; j < len(v); j++ {
		if v[j] == '\\' && j+1 < len(v) {
			j++
		}
		b.WriteByte(v[j])
	}
	return b.String()
}

// wildcardMatch matches name against pattern, whose leading and trailing
// "*" stand for any characters and "?" for one, case-insensitively.
func wildcardMatch(pattern, name string) bool {
	name = strings.ToLower(name)
	lead, trail := 0, 0
	anyLead, anyTrail := false, false
	p := pattern
	for len(p) > 0 && (p[0] == '*' || p[0] == '?') {
		if p[0] == '*' {
			anyLead = true
		} else {
			lead++
		}
		p = p[1:]
	}
	for len(p) > 0 && (p[len(p)-1] == '*' || p[len(p)-1] == '?') && (len(p) < 2 || p[len(p)-2] != '\\') {
		if p[len(p)-1] == '*' {
			anyTrail = true
		} else {
			trail++
		}
		p = p[:len(p)-1]
	}
	middle := strings.ToLower(unescape(p))
	for start := lead; start+len(middle)+trail <= len(name); start++ {
		if !anyLead && start != lead {
			break
		}
		if !strings.HasPrefix(name[start:], middle) {
			continue
		}
		rest := len(name) - start - len(middle)
		if rest == trail || anyTrail && rest >= trail {
			return true
		}
	}
	return false
}
