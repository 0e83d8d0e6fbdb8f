package products

// Package URLs (github.com/package-url/purl-spec):
// pkg:type/namespace/name@version?qualifiers#subpath.

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// PURL is a parsed Package URL, its parts decoded.
type PURL struct {
	Type       string // lower case: npm, pypi, maven, deb, github, …
	Namespace  string // "" when the type has none; segments joined by "/"
	Name       string
	Version    string
	Qualifiers map[string]string // keys in lower case
	Subpath    string
}

// PURLError says what is wrong with a Package URL.
type PURLError struct {
	Part   string // "scheme", "type", "namespace", "name", "version", "qualifiers", "subpath"
	Reason string
}

func (e *PURLError) Error() string { return "package URL: " + e.Part + ": " + e.Reason }

// namesInLowerCase are the types whose namespace and name are case
// insensitive (the specification's type definitions).
var namesInLowerCase = []string{"bitbucket", "github", "pypi", "composer", "deb", "apk", "hex", "golang"}

// ParsePURL parses a Package URL as the specification says, from the
// right: the subpath after "#", the qualifiers after "?", the scheme
// "pkg:", the type up to the first "/", the version after the last "@",
// the name after the last "/", the namespace before it; each part
// percent-decoded. The types whose names are case insensitive are
// taken in lower case, and a pypi name's underscores as hyphens.
func ParsePURL(s string) (PURL, error) {
	var p PURL
	rest, subpath, _ := strings.Cut(s, "#")
	rest, qualifiers, hasQualifiers := strings.Cut(rest, "?")
	scheme, rest, ok := strings.Cut(rest, ":")
	if !ok || !strings.EqualFold(scheme, "pkg") {
		return p, &PURLError{Part: "scheme", Reason: `does not start with "pkg:"`}
	}
	rest = strings.TrimLeft(rest, "/")
	typ, rest, ok := strings.Cut(rest, "/")
	if !ok || typ == "" {
		return p, &PURLError{Part: "type", Reason: "is missing (pkg:type/name)"}
	}
	p.Type = strings.ToLower(typ)
	for i := 0; i < len(p.Type); i++ {
		c := p.Type[i]
		if !(isAlnum(c) || c == '.' || c == '+' || c == '-') || i == 0 && isDigit(c) {
			return p, &PURLError{Part: "type", Reason: fmt.Sprintf("has %q, which a type cannot have", c)}
		}
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		v, err := url.PathUnescape(rest[at+1:])
		if err != nil || v == "" {
			return p, &PURLError{Part: "version", Reason: "is empty or badly percent-encoded"}
		}
		p.Version, rest = v, rest[:at]
	}
	rest = strings.Trim(rest, "/")
	var segments []string
	for _, seg := range strings.Split(rest, "/") {
		if seg == "" {
			continue
		}
		d, err := url.PathUnescape(seg)
		if err != nil || strings.Contains(d, "/") {
			return p, &PURLError{Part: "namespace", Reason: fmt.Sprintf("segment %q is badly percent-encoded", seg)}
		}
		segments = append(segments, d)
	}
	if len(segments) == 0 {
		return p, &PURLError{Part: "name", Reason: "is missing"}
	}
	p.Name = segments[len(segments)-1]
	p.Namespace = strings.Join(segments[:len(segments)-1], "/")
	if slices.Contains(namesInLowerCase, p.Type) {
		p.Namespace, p.Name = strings.ToLower(p.Namespace), strings.ToLower(p.Name)
	}
	if p.Type == "pypi" {
		p.Name = strings.ReplaceAll(p.Name, "_", "-")
	}
	if hasQualifiers {
		q, err := parseQualifiers(qualifiers)
		if err != nil {
			return p, err
		}
		p.Qualifiers = q
	}
	if subpath != "" {
		var segs []string
		for _, seg := range strings.Split(strings.Trim(subpath, "/"), "/") {
			d, err := url.PathUnescape(seg)
			if err != nil {
				return p, &PURLError{Part: "subpath", Reason: "is badly percent-encoded"}
			}
			if d != "" && d != "." && d != ".." {
				segs = append(segs, d)
			}
		}
		p.Subpath = strings.Join(segs, "/")
	}
	return p, nil
}

// parseQualifiers parses key=value pairs separated by "&"; a key is
// taken in lower case, given once, and a pair without a value is left
// out.
func parseQualifiers(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(s, "&") {
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.ToLower(k)
		if !ok || k == "" {
			return nil, &PURLError{Part: "qualifiers", Reason: fmt.Sprintf("%q is not key=value", pair)}
		}
		for i := 0; i < len(k); i++ {
			if c := k[i]; !(isAlnum(c) || c == '.' || c == '-' || c == '_') {
				return nil, &PURLError{Part: "qualifiers", Reason: fmt.Sprintf("key %q has %q", k, c)}
			}
		}
		if _, dup := out[k]; dup {
			return nil, &PURLError{Part: "qualifiers", Reason: fmt.Sprintf("key %q is given twice", k)}
		}
		d, err := url.PathUnescape(v)
		if err != nil {
			return nil, &PURLError{Part: "qualifiers", Reason: fmt.Sprintf("value of %q is badly percent-encoded", k)}
		}
		if d != "" {
			out[k] = d
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// String is the canonical form: the parts percent-encoded, the
// qualifiers sorted by key.
func (p PURL) String() string {
	var b strings.Builder
	b.WriteString("pkg:" + p.Type + "/")
	if p.Namespace != "" {
		for _, seg := range strings.Split(p.Namespace, "/") {
			b.WriteString(escapePURL(seg) + "/")
		}
	}
	b.WriteString(escapePURL(p.Name))
	if p.Version != "" {
		b.WriteString("@" + escapePURL(p.Version))
	}
	if len(p.Qualifiers) > 0 {
		keys := make([]string, 0, len(p.Qualifiers))
		for k := range p.Qualifiers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i == 0 {
				b.WriteByte('?')
			} else {
				b.WriteByte('&')
			}
			b.WriteString(k + "=" + escapePURL(p.Qualifiers[k]))
		}
	}
	if p.Subpath != "" {
		b.WriteString("#" + p.Subpath)
	}
	return b.String()
}

// escapePURL percent-encodes a part: everything but letters, digits,
// ".", "-", "_", "~" and ":".
func escapePURL(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || strings.IndexByte(".-_~:", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
