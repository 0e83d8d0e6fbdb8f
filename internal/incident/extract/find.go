package extract

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The bounds that keep a hostile report's cost in time and memory small.
const (
	// MaxInput is how much of a text Find reads, in bytes; the rest is
	// ignored.
	MaxInput = 1 << 20
	// MaxObservables is how many observables Find returns at most.
	MaxObservables = 1000
	// MaxURLLength is the longest URL Find takes, in bytes; of a longer
	// one only its host is kept.
	MaxURLLength = 4096
)

// Find returns every observable in text (a mail body, a web form's free
// text, a subject), refanged first (see Refang), each in its normal form,
// without duplicates, in the order of first appearance. A URL's host and
// an e-mail address's domain follow it as a Domain or IP observable of
// their own. What lies inside a URL (a domain or address in its path or
// query string) is not taken apart. Find reads at most MaxInput bytes and
// returns at most MaxObservables observables. It takes phone numbers in
// international form only; see Finder for national ones.
func Find(text string) []Observable {
	return Finder{}.Find(text)
}

// Finder finds observables as Find and FromHTML do, with settings. Its
// zero value is theirs.
type Finder struct {
	// CountryCode is the calling code ("32" for Belgium, "31" for the
	// Netherlands) in which a phone number written in national form
	// ("02 123 45 67") is read, where that is unambiguous (see
	// nationalPhone). Empty, no national number is taken.
	CountryCode string
}

// Find returns the observables of text as the function Find does, and the
// phone numbers in national form of x.CountryCode.
func (x Finder) Find(text string) []Observable {
	f := newFinder(Refang(capInput(text, MaxInput)))
	if allDigits(x.CountryCode) && len(x.CountryCode) <= 3 && x.CountryCode[0] != '0' {
		f.country = x.CountryCode
	}
	f.run()
	return f.out
}

// capInput cuts s to at most n bytes, at the start of a character.
func capInput(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// finder walks a refanged text once from left to right.
type finder struct {
	s    string
	out  []Observable
	seen map[Observable]struct{}
	// localEnd is where the last run of local-part characters that led to
	// no e-mail address ended.
	localEnd int
	// domains remembers what normalizeDomain said of each name, as the
	// same names come back in a mail.
	domains map[string]string
	// country is the calling code national phone numbers are read in.
	country string
	// nextAt is the position of the next '@' at or after the last place
	// looked at, len(s) if there is none.
	nextAt int
}

func newFinder(s string) *finder {
	// Room for an observable every 256 bytes spares most of the map's growth.
	return &finder{s: s, seen: make(map[Observable]struct{}, min(max(len(s)/256, 8), MaxObservables)), nextAt: -1}
}

// add records an observable unless it was seen already. Its value is
// copied, so that a value cut out of the text does not keep all of the
// text in memory.
func (f *finder) add(k Kind, v string) {
	if len(f.out) >= MaxObservables {
		return
	}
	if _, ok := f.seen[Observable{Kind: k, Value: v}]; ok {
		return
	}
	o := Observable{Kind: k, Value: strings.Clone(v)}
	f.seen[o] = struct{}{}
	f.out = append(f.out, o)
}

// maxRemembered bounds the names a finder remembers.
const maxRemembered = 1024

// domain returns normalizeDomain(h), remembered.
func (f *finder) domain(h string) (string, bool) {
	if d, ok := f.domains[h]; ok {
		return d, d != ""
	}
	d, ok := normalizeDomain(h)
	if f.domains == nil {
		f.domains = make(map[string]string, min(max(len(f.s)/512, 8), maxRemembered))
	}
	if len(f.domains) < maxRemembered {
		f.domains[h] = d
	}
	return d, ok
}

// addHost records a URL's host or an address's domain as what it is.
func (f *finder) addHost(h string) {
	if strings.HasPrefix(h, "[") {
		f.add(IP, h[1:len(h)-1])
		return
	}
	if h != "" && h[len(h)-1] >= '0' && h[len(h)-1] <= '9' {
		f.add(IP, h)
		return
	}
	f.add(Domain, h)
}

// run walks the text word by word: each step starts where a word starts
// and goes past what it recognised, or past the word.
func (f *finder) run() {
	s := f.s
	for i := 0; i < len(s) && len(f.out) < MaxObservables; {
		c := s[i]
		switch {
		case c == '+':
			if end := f.phone(i); end > 0 {
				i = end
				continue
			}
			i++
		case c == ':' && i+1 < len(s) && s[i+1] == ':':
			if end := f.ipv6(i); end > 0 {
				i = end
				continue
			}
			i += 2
		case isLetter(c):
			// A plain word followed by a space or punctuation that no
			// observable holds is passed over at once.
			j := i + 1
			for j < len(s) && isLetter(s[j]) {
				j++
			}
			if (j == len(s) || plainWordEnd[s[j]]) && !maybeHash(j-i) {
				i = j
				continue
			}
			i = f.word(i)
		case isWordByte(c) || c >= utf8.RuneSelf:
			i = f.word(i)
		default:
			i++
		}
	}
}

// word recognises what starts at i, at the start of a word, and returns
// where to go on.
func (f *finder) word(i int) int {
	s := f.s
	if end := f.url(i); end > 0 {
		return end
	}
	if s[i] == '0' && i+1 < len(s) {
		if s[i+1] == '0' {
			if end := f.phone(i); end > 0 {
				return end
			}
		}
		if end := f.nationalPhone(i); end > 0 {
			return end
		}
	}
	if isHex(s[i]) {
		if end := f.ipv6(i); end > 0 {
			return end
		}
	}
	if end := f.email(i); end > 0 {
		return end
	}
	return f.token(i)
}

// tokenEnd returns the end of the run of letters, digits, dots and hyphens
// that starts at i.
func tokenEnd(s string, i int) int {
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if isAlnum(c) || c == '.' || c == '-' {
				i++
				continue
			}
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Mc, r) {
			break
		}
		i += size
	}
	return i
}

// token recognises a hash, a CVE id, an IPv4 address or a domain in the
// word at i and returns its end.
func (f *finder) token(i int) int {
	s := f.s
	end := tokenEnd(s, i)
	if end == i {
		// Not a word character (an underscore or a non-ASCII symbol).
		_, size := utf8.DecodeRuneInString(s[i:])
		return i + size
	}
	t := trimDotsHyphens(s[i:end])
	if len(t) > maxDomainLength || t == "" {
		return end
	}
	before := byte(' ')
	if i > 0 {
		before = s[i-1]
	}
	after := byte(' ')
	if i+len(t) < len(s) {
		after = s[i+len(t)]
	}
	if k := hashKind(t); k != "" && before != '_' && after != '_' {
		f.add(k, strings.ToLower(t))
		return end
	}
	if isCVE(t) {
		f.add(CVE, strings.ToUpper(t))
		return end
	}
	if strings.IndexByte(t, '.') < 0 {
		return end
	}
	if allDigitsDotsHyphens(t) {
		if before == '.' || versionBefore(s, i) {
			return end
		}
		// "10.0.0.1-10.0.0.5" names two addresses.
		for rest := t; rest != ""; {
			var part string
			part, rest, _ = strings.Cut(rest, "-")
			if a, ok := parseIPv4(part); ok {
				f.add(IP, a)
			}
		}
		return end
	}
	if proseDomain(t) {
		if d, ok := f.domain(t); ok {
			f.add(Domain, d)
		}
	}
	return end
}

// maxDomainLength is the longest domain name there is.
const maxDomainLength = 253

// hashKind says which hash a hex string of the right length is.
func hashKind(t string) Kind {
	var k Kind
	switch len(t) {
	case 32:
		k = MD5
	case 40:
		k = SHA1
	case 64:
		k = SHA256
	default:
		return ""
	}
	for i := 0; i < len(t); i++ {
		if !isHex(t[i]) {
			return ""
		}
	}
	return k
}

// isCVE reports whether t is a whole CVE id such as CVE-2024-12345.
func isCVE(t string) bool {
	if len(t) < 13 || len(t) > 17 || !strings.EqualFold(t[:4], "cve-") || t[8] != '-' {
		return false
	}
	return allDigits(t[4:8]) && allDigits(t[9:])
}

// versionBefore reports whether the word before position i says that a
// dotted number is a version ("version 1.2.3.4", "build 10.0.19041.1").
func versionBefore(s string, i int) bool {
	j := i
	for j > 0 && (s[j-1] == ' ' || s[j-1] == ':') && i-j < 3 {
		j--
	}
	k := j
	for k > 0 && j-k < 10 && (s[k-1]|0x20 >= 'a' && s[k-1]|0x20 <= 'z') {
		k--
	}
	w := s[k:j]
	switch len(w) {
	case 1:
		return w[0]|0x20 == 'v'
	case 3:
		return strings.EqualFold(w, "ver") || strings.EqualFold(w, "rev")
	case 5:
		return strings.EqualFold(w, "build")
	case 6:
		return strings.EqualFold(w, "update")
	case 7:
		return strings.EqualFold(w, "version") || strings.EqualFold(w, "release")
	case 8:
		return strings.EqualFold(w, "firmware") || strings.EqualFold(w, "revision")
	}
	return false
}

// parseIPv4 parses four dotted decimal octets as netip does (no leading
// zeros, none above 255).
func parseIPv4(t string) (string, bool) {
	if strings.Count(t, ".") != 3 {
		return "", false
	}
	a, err := netip.ParseAddr(t)
	if err != nil || !a.Is4() {
		return "", false
	}
	return a.String(), true
}

// ipv6 recognises an IPv6 address at i, at the start of a word, and
// returns its end.
func (f *finder) ipv6(i int) int {
	s := f.s
	// Only where the first group ends in a colon within four characters.
	j := i
	for j < len(s) && j-i < 5 && isHex(s[j]) {
		j++
	}
	if j >= len(s) || s[j] != ':' {
		return 0
	}
	if i > 0 && (isWordByte(s[i-1]) || s[i-1] == ':' || s[i-1] == '.') {
		return 0
	}
	end := i
	colons := 0
	for end < len(s) && end-i <= 45 && (isHex(s[end]) || s[end] == ':' || s[end] == '.') {
		if s[end] == ':' {
			colons++
		}
		end++
	}
	if end < len(s) && (isWordByte(s[end]) || end-i > 45) {
		return 0
	}
	t := strings.TrimRight(s[i:end], ".")
	if colons < 2 {
		return 0
	}
	a, err := netip.ParseAddr(t)
	if err != nil || !a.Is6() || a.IsUnspecified() {
		return 0
	}
	f.add(IP, a.String())
	return end
}

// email recognises an e-mail address at i and returns its end.
func (f *finder) email(i int) int {
	s := f.s
	if i < f.localEnd {
		return 0 // inside a run of local-part characters that is no address
	}
	if f.nextAt < i {
		if k := strings.IndexByte(s[i:], '@'); k >= 0 {
			f.nextAt = i + k
		} else {
			f.nextAt = len(s)
		}
	}
	if f.nextAt-i > 64 {
		return 0 // no '@' close enough
	}
	j := i
	for j < len(s) && isLocalByte(s[j]) {
		j++
	}
	if j == i || j >= len(s) || s[j] != '@' || j-i > 64 {
		// Later starts inside this run would end at the same place.
		f.localEnd = j
		return 0
	}
	local := s[i:j]
	end := tokenEnd(s, j+1)
	host, ok := f.domain(trimDotsHyphens(s[j+1 : end]))
	if !ok || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		f.localEnd = j
		return 0
	}
	f.add(Email, strings.ToLower(local)+"@"+host)
	f.add(Domain, host)
	return end
}

// isLocalByte reports whether c may stand in the local part of an e-mail
// address as people write them.
func isLocalByte(c byte) bool {
	return isWordByte(c) || c == '.' || c == '-' || c == '+' || c == '%' || c == '='
}

// trimDotsHyphens drops the dots and hyphens that end t: the full stop
// after a domain at the end of a sentence.
func trimDotsHyphens(t string) string {
	for t != "" && (t[len(t)-1] == '.' || t[len(t)-1] == '-') {
		t = t[:len(t)-1]
	}
	return t
}

// plainWordEnd marks the characters after which a word of letters is no
// part of an observable: a space, a comma, a closing bracket, a quote.
var plainWordEnd = func() (end [256]bool) {
	for _, c := range " \t\r\n,;!?)]}\"'<>*" {
		end[c] = true
	}
	return end
}()

// maybeHash reports whether a word of n letters could be a hash.
func maybeHash(n int) bool { return n == 32 || n == 40 || n == 64 }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func allDigits(t string) bool {
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return false
		}
	}
	return t != ""
}

func allDigitsDotsHyphens(t string) bool {
	for i := 0; i < len(t); i++ {
		if (t[i] < '0' || t[i] > '9') && t[i] != '.' && t[i] != '-' {
			return false
		}
	}
	return true
}
