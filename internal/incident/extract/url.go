package extract

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// schemeLength returns the length of the http://, https:// or ftp:// that
// starts s (in any case), or 0.
func schemeLength(s string) int {
	if len(s) < 6 || (s[0]|0x20 != 'h' && s[0]|0x20 != 'f') {
		return 0
	}
	for _, scheme := range [...]string{"http://", "https://", "ftp://"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			return len(scheme)
		}
	}
	return 0
}

// urlStop marks the ASCII characters that end a URL in running text.
var urlStop = func() (stop [utf8.RuneSelf]bool) {
	for c := 0; c <= ' '; c++ {
		stop[c] = true
	}
	for _, c := range "\"'<>\\^`{|}\x7f" {
		stop[c] = true
	}
	return stop
}()

// urlEnd returns where the URL whose address part starts at j ends in s:
// at a space, a quote, an angle bracket or another character that does not
// stand in URLs as people write them, or a non-ASCII space or punctuation
// mark. It stops looking after limit bytes.
func urlEnd(s string, j, limit int) int {
	for j < len(s) && j < limit {
		c := s[j]
		if c < utf8.RuneSelf {
			if urlStop[c] {
				break
			}
			j++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[j:])
		if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsPunct(r) {
			break
		}
		j += size
	}
	return j
}

// trimURL drops from the end of the URL s[start:end] the punctuation that
// ends the sentence around it and the closing brackets it does not open
// itself: "(see http://x.example/a)." ends at "/a", a Wikipedia link
// ending in "_(disambiguation)" keeps its bracket.
func trimURL(s string, start, end int) int {
	open := [...]int{strings.Count(s[start:end], "("), strings.Count(s[start:end], "[")}
	shut := [...]int{strings.Count(s[start:end], ")"), strings.Count(s[start:end], "]")}
	for end > start {
		switch s[end-1] {
		case '.', ',', ';', ':', '!', '?', '*':
		case ')':
			if shut[0] <= open[0] {
				return end
			}
			shut[0]--
		case ']':
			if shut[1] <= open[1] {
				return end
			}
			shut[1]--
		default:
			return end
		}
		end--
	}
	return end
}

// url recognises a URL at i and returns its end. The URL's normal form has
// its scheme and host in lower case and its host as Find writes hosts; the
// rest is kept as written.
func (f *finder) url(i int) int {
	s := f.s
	n := schemeLength(s[i:])
	if n == 0 {
		return 0
	}
	start := i + n
	end := urlEnd(s, start, i+MaxURLLength+1)
	tooLong := end > i+MaxURLLength
	if tooLong {
		end = urlEnd(s, end, len(s))
	}
	end = trimURL(s, start, end)
	rest := s[start:end]
	authEnd := strings.IndexAny(rest, "/?#")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	// No host holds a comma, a semicolon or a bracket: in
	// "https://a.example,https://b.example" the first URL ends at the comma.
	if cut := strings.IndexAny(rest[:authEnd], ",;(){}*!'"); cut >= 0 {
		end, rest, authEnd, tooLong = start+cut, rest[:cut], cut, false
	}
	userinfo, host, port, ok := f.splitAuthority(rest[:authEnd])
	if !ok {
		return end
	}
	switch {
	case tooLong:
	case isLowerScheme(s[i:start]) && authorityIs(rest[:authEnd], userinfo, host, port):
		f.add(URL, s[i:end]) // written in normal form already
	default:
		var b strings.Builder
		b.Grow(end - i + 8)
		b.WriteString(strings.ToLower(s[i:start]))
		if userinfo != "" {
			b.WriteString(userinfo)
			b.WriteByte('@')
		}
		b.WriteString(host)
		if port != "" {
			b.WriteByte(':')
			b.WriteString(port)
		}
		b.WriteString(rest[authEnd:])
		f.add(URL, b.String())
	}
	f.addHost(host)
	return end
}

// isLowerScheme reports whether a scheme and its "://" are in lower case.
func isLowerScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return false
		}
	}
	return true
}

// authorityIs reports whether the authority a is written as userinfo,
// host and port make it.
func authorityIs(a, userinfo, host, port string) bool {
	if userinfo != "" {
		if !strings.HasPrefix(a, userinfo) || len(a) == len(userinfo) || a[len(userinfo)] != '@' {
			return false
		}
		a = a[len(userinfo)+1:]
	}
	if !strings.HasPrefix(a, host) {
		return false
	}
	a = a[len(host):]
	if port == "" {
		return a == ""
	}
	return len(a) == len(port)+1 && a[0] == ':' && a[1:] == port
}

// splitAuthority takes a URL's authority apart and returns its user
// information as written, its host in normal form (an IPv6 address in
// brackets) and its port. It refuses a host that is neither an IP address
// nor a domain name under a public suffix, and a port that is not a
// number.
func (f *finder) splitAuthority(a string) (userinfo, host, port string, ok bool) {
	if at := strings.LastIndexByte(a, '@'); at >= 0 {
		userinfo, a = a[:at], a[at+1:]
	}
	if strings.HasPrefix(a, "[") {
		close := strings.IndexByte(a, ']')
		if close < 0 {
			return "", "", "", false
		}
		addr, err := netip.ParseAddr(a[1:close])
		if err != nil || !addr.Is6() || addr.Zone() != "" || addr.IsUnspecified() {
			return "", "", "", false
		}
		host, a = "["+addr.String()+"]", a[close+1:]
		if a != "" && a[0] != ':' {
			return "", "", "", false
		}
		port = strings.TrimPrefix(a, ":")
	} else {
		if colon := strings.LastIndexByte(a, ':'); colon >= 0 {
			a, port = a[:colon], a[colon+1:]
		}
		if addr, ok := parseIPv4(a); ok {
			host = addr
		} else if d, ok := f.domain(a); ok {
			host = d
		} else {
			return "", "", "", false
		}
	}
	if port != "" && (!allDigits(port) || len(port) > 5 || port > "65535" && len(port) == 5) {
		return "", "", "", false
	}
	return userinfo, host, port, true
}
