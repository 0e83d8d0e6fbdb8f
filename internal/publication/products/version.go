package products

// Comparing versions without knowing the scheme: what CVE records and
// advisories give is semantic versions, dotted numbers, dates,
// "1.0rc1" and "1.1.1k" alike.

import (
	"strings"
)

// versionToken is one run of a version: a number or a word.
type versionToken struct {
	number bool
	text   string // a number without its leading zeros; a word in lower case
	// rank orders words: pre-releases below 0 (before the release),
	// other words (a post-release letter, "post", "patch") above it.
	rank int
}

// Pre-release words, in their order; anything else is after the release.
var preReleaseRanks = map[string]int{
	"dev": -6, "snapshot": -6, "nightly": -6,
	"alpha": -5, "a": -5,
	"beta": -4, "b": -4,
	"milestone": -3, "m": -3,
	"pre": -2, "preview": -2, "c": -2, "rc": -2, "cr": -2,
}

// releaseWords say "the release" and count as nothing.
var releaseWords = map[string]bool{"final": true, "ga": true, "release": true, "stable": true}

// tokenize splits v into numbers and words, after an epoch ("1:"), a
// "v" prefix and build metadata ("+build.5") are taken off.
func tokenize(v string) (epoch string, out []versionToken) {
	v = strings.ToLower(strings.TrimSpace(v))
	if e, rest, ok := strings.Cut(v, ":"); ok && e != "" && allDigits(e) {
		epoch, v = strings.TrimLeft(e, "0"), rest
	}
	if len(v) > 1 && v[0] == 'v' && isDigit(v[1]) {
		v = v[1:]
	}
	if i := strings.IndexByte(v, '+'); i > 0 {
		v = v[:i]
	}
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case isDigit(c):
			j := i
			for j < len(v) && isDigit(v[j]) {
				j++
			}
			n := strings.TrimLeft(v[i:j], "0")
			out = append(out, versionToken{number: true, text: n})
			i = j
		case isLetter(c):
			j := i
			for j < len(v) && isLetter(v[j]) {
				j++
			}
			word := v[i:j]
			t := versionToken{text: word, rank: 1}
			if r, ok := preReleaseRanks[word]; ok {
				t.rank = r
				// A lone letter is a pre-release only before a number
				// (1.0a1, 2.0b2); at the end it is OpenSSL's letter
				// release after 1.1.1 (1.1.1k).
				if len(word) == 1 && (j >= len(v) || !isDigit(v[j])) {
					t.rank = 1
				}
			}
			if !releaseWords[word] {
				out = append(out, t)
			}
			i = j
		default: // a separator: . - _ ~ and anything else
			i++
		}
	}
	return epoch, out
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || c >= 0x80 }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// compareNumbers compares two numbers without leading zeros, of any
// length.
func compareNumbers(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// CompareVersions compares two versions: -1 when a is before b, 0 when
// they are the same version, 1 when a is after b. Numbers are compared
// as numbers (1.10 after 1.9), missing trailing numbers count as zero
// (1.0 is 1.0.0), a pre-release is before its release (2.0.0-rc1 before
// 2.0.0; dev, alpha, beta, milestone, rc in that order), a letter after
// a release is after it (1.1.1k after 1.1.1), a "v" prefix and build
// metadata are ignored, an epoch ("2:1.0") comes first, and dates
// (2024-01-15) compare as their numbers. It never panics, and
// CompareVersions(a, b) is -CompareVersions(b, a).
func CompareVersions(a, b string) int {
	ea, ta := tokenize(a)
	eb, tb := tokenize(b)
	if c := compareNumbers(ea, eb); c != 0 {
		return c
	}
	for i := 0; i < len(ta) || i < len(tb); i++ {
		var x, y *versionToken
		if i < len(ta) {
			x = &ta[i]
		}
		if i < len(tb) {
			y = &tb[i]
		}
		if c := compareTokens(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// compareTokens compares two tokens at one place; nil is the end of a
// version.
func compareTokens(x, y *versionToken) int {
	switch {
	case x == nil && y == nil:
		return 0
	case x == nil:
		return -compareTokens(y, nil)
	case y == nil:
		// What is left of the longer version decides: zeros are nothing,
		// a number is after, a pre-release word before, another word
		// after.
		switch {
		case x.number && x.text == "":
			return 0
		case x.number:
			return 1
		case x.rank < 0:
			return -1
		default:
			return 1
		}
	case x.number && y.number:
		return compareNumbers(x.text, y.text)
	case x.number:
		return 1 // a number is after any word at its place (1.0.1 > 1.0-rc1)
	case y.number:
		return -1
	case x.rank != y.rank:
		if x.rank < y.rank {
			return -1
		}
		return 1
	case x.rank < 0:
		return 0 // alpha and a are one pre-release
	default:
		return strings.Compare(x.text, y.text)
	}
}
