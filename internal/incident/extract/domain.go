package extract

import (
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// normalizeDomain returns a host name in its normal form: lower case, its
// Unicode labels as IDNA A-labels (so that a homograph such as
// "pаypal.com" with a Cyrillic "а" shows as xn--pypal-4ve.com), without a
// trailing dot. It refuses a name that is not under a top-level domain of
// ICANN's part of the public suffix list, or that is a public suffix itself
// (co.uk).
func normalizeDomain(h string) (string, bool) {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > maxDomainLength || strings.IndexByte(h, '.') < 0 {
		return "", false
	}
	ascii := true
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			ascii = false
			break
		}
	}
	d := h
	if ascii {
		d = lowerASCII(h)
	} else {
		var err error
		if d, err = idna.Lookup.ToASCII(h); err != nil || len(d) > maxDomainLength {
			return "", false
		}
	}
	if !validLabels(d) {
		return "", false
	}
	tld := d[strings.LastIndexByte(d, '.')+1:]
	if _, icann := publicsuffix.PublicSuffix(tld); !icann {
		return "", false
	}
	if ps, icann := publicsuffix.PublicSuffix(d); icann && ps == d {
		return "", false
	}
	return d, true
}

// validLabels reports whether every label of an ASCII host name is made
// of letters, digits and inner hyphens, 1 to 63 long, and the last is not
// all digits.
func validLabels(d string) bool {
	start := 0
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			c := d[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
			continue
		}
		label := d[start:i]
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		start = i + 1
	}
	return !allDigits(d[strings.LastIndexByte(d, '.')+1:])
}

// lowerASCII lower-cases an ASCII string, without allocating when it is
// in lower case already.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// fileExtensions are the file name extensions that are top-level domains
// too. In running text "invoice.zip", "clip.mov" or "install.sh" name a
// file far more often than a host, so a word ending in one of them is not
// taken as a domain; in a URL's host or an e-mail address it is. (The
// common extensions that are no top-level domain, such as .pdf, .docx,
// .png or .exe, are refused by the public suffix list already.) Real
// domains under these extensions written bare in text are missed. Some
// extensions stay domains because too many real ones use them: .pl
// (Poland, and Perl), .ai (Anguilla, and Illustrator), .me, .in, .app.
var fileExtensions = map[string]bool{
	"zip": true, // archives
	"mov": true, // QuickTime films
	"one": true, // OneNote notebooks, a common malware carrier
	"cab": true, // Windows cabinets
	"pub": true, // Publisher documents, public keys
	"py":  true, // Python
	"sh":  true, // shell scripts
	"rs":  true, // Rust
	"md":  true, // Markdown
	"so":  true, // shared libraries
	"ps":  true, // PostScript
	"pm":  true, // Perl modules
	"mo":  true, // gettext catalogues
	"am":  true, // Automake
	"la":  true, // libtool archives
	"cc":  true, // C++
}

// proseDomain reports whether a word of running text may be a domain
// name (see normalizeDomain): one that does not end in a file name
// extension (see fileExtensions) and is not two sentences run together
// ("the link.It was"), which shows as a word in lower case followed by a
// capitalised one.
func proseDomain(t string) bool {
	tld := t[strings.LastIndexByte(t, '.')+1:]
	if fileExtensions[lowerASCII(tld)] {
		return false
	}
	if t[0] >= 'a' && t[0] <= 'z' {
		for i := 1; i+2 < len(t); i++ {
			if t[i] == '.' && t[i+1] >= 'A' && t[i+1] <= 'Z' && t[i+2] >= 'a' && t[i+2] <= 'z' {
				return false
			}
		}
	}
	return true
}
