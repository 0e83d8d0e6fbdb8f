package shadowserver

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/event"
)

// canonical reports whether v is already exactly what event.Normalize
// would return for a field of the kind, checked without allocating. It
// answers false when unsure, and the value then goes through
// event.Normalize; it never accepts a value Normalize would refuse or
// change. Most Shadowserver cells are canonical already (dotted quads,
// plain port numbers, upper-case country codes), and Normalize would
// allocate a fresh copy of each. TestCanonicalAgreesWithNormalize and
// FuzzCanonical hold it to that promise.
func canonical(kind event.Kind, v string) bool {
	switch kind {
	case event.KindString:
		return v != "" && utf8.ValidString(v) && strings.IndexByte(v, 0) < 0
	case event.KindLowercase:
		for i := 0; i < len(v); i++ {
			if c := v[i]; c >= utf8.RuneSelf || c >= 'A' && c <= 'Z' || c == 0 {
				return false
			}
		}
		return v != ""
	case event.KindIP:
		if len(v) > 15 { // longer than any dotted quad
			return false
		}
		a, err := netip.ParseAddr(v)
		// netip reads only canonical dotted quads as IPv4.
		return err == nil && a.Is4()
	case event.KindPort:
		return canonicalUnsigned(v, 65535)
	case event.KindASN:
		return v != "0" && canonicalUnsigned(v, 4294967295)
	case event.KindInteger:
		return canonicalInteger(v)
	case event.KindCountry:
		return len(v) == 2 && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z'
	case event.KindFQDN:
		return canonicalHostName(v)
	}
	return false
}

// canonicalUnsigned reports whether v is a decimal number up to limit
// without sign, spaces or leading zeros.
func canonicalUnsigned(v string, limit uint64) bool {
	if len(v) == 0 || len(v) > 10 || (v[0] == '0' && len(v) > 1) {
		return false
	}
	var n uint64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + uint64(c-'0')
	}
	return n <= limit
}

// canonicalHostName accepts lower-case ASCII host names whose labels are
// 1 to 63 characters of the kinds event's FQDN check allows. A name of
// digits and dots only could be an IPv4 address, which is not a host name;
// those are left to event.Normalize.
func canonicalHostName(v string) bool {
	if len(v) == 0 || len(v) > 253 {
		return false
	}
	label, onlyDigits := 0, true
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z' || c == '-' || c == '_' || c == '*':
			onlyDigits = false
		default:
			return false
		}
		label++
		if label > 63 {
			return false
		}
	}
	return label > 0 && !onlyDigits
}
