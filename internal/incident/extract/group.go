package extract

import (
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// GroupingKey returns the key under which o groups reports into one
// incident (the same key, the same incident), and false when o never
// groups reports.
//
// These group: a URL, normalised (scheme and host in lower case, the
// default port and the fragment dropped, an empty path written "/"); a
// domain; an e-mail address (a phishing mail's sender); a public IP
// address; an MD5, SHA-1 or SHA-256 hash (the same attachment); a phone
// number (the same scam line). These never do: an IP address in a private,
// loopback, link-local, shared or documentation range, or a URL on one
// (every home router is 192.168.1.1); a domain that is a well-known mail
// provider's (see mailProviders: it names the service of an address, not
// an attacker) or a shared hosting or link-shortening service's own name
// (github.io, bit.ly); the hash of empty content; a CVE id (a flaw that
// many unrelated incidents share). The caller leaves out the reporter's
// own address and domain, which group nothing either.
func GroupingKey(o Observable) (string, bool) {
	switch o.Kind {
	case URL:
		u, host, ok := normalizeURL(o.Value)
		if !ok || privateHost(host) {
			return "", false
		}
		return "url:" + u, true
	case Domain:
		d := strings.ToLower(strings.TrimSuffix(o.Value, "."))
		if d == "" || mailProviders[d] || sharedServices[d] {
			return "", false
		}
		if ps, icann := publicsuffix.PublicSuffix(d); ps == d && !icann {
			return "", false // a private public suffix: github.io, web.app
		}
		return "domain:" + d, true
	case Email:
		if !strings.Contains(o.Value, "@") {
			return "", false
		}
		return "email:" + strings.ToLower(o.Value), true
	case IP:
		a, err := netip.ParseAddr(o.Value)
		if err != nil || privateAddr(a) {
			return "", false
		}
		return "ip:" + a.Unmap().String(), true
	case MD5, SHA1, SHA256:
		v := strings.ToLower(o.Value)
		if v == "" || emptyHashes[v] {
			return "", false
		}
		return string(o.Kind) + ":" + v, true
	case Phone:
		if len(o.Value) < 2 {
			return "", false
		}
		return "phone:" + o.Value, true
	}
	return "", false
}

// mailProviders are the largest free mail services: their domain, found
// in nearly every report as part of an address, says nothing about who
// sent a phishing mail. The addresses themselves still group.
var mailProviders = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "outlook.com": true, "hotmail.com": true,
	"live.com": true, "msn.com": true, "yahoo.com": true, "icloud.com": true, "me.com": true,
	"aol.com": true, "proton.me": true, "protonmail.com": true, "gmx.net": true, "gmx.de": true,
	"web.de": true, "mail.ru": true, "yandex.ru": true, "telenet.be": true, "skynet.be": true,
	"ziggo.nl": true, "kpnmail.nl": true, "orange.fr": true, "free.fr": true,
}

// sharedServices are link shorteners and file and form hosts whose own
// name two unrelated phishing campaigns share; their URLs still group.
var sharedServices = map[string]bool{
	"bit.ly": true, "t.co": true, "tinyurl.com": true, "goo.gl": true, "ow.ly": true,
	"is.gd": true, "forms.gle": true, "docs.google.com": true, "drive.google.com": true,
	"sites.google.com": true, "1drv.ms": true, "onedrive.live.com": true,
	"dropbox.com": true, "www.dropbox.com": true, "forms.office.com": true,
}

// emptyHashes are the hashes of no bytes at all.
var emptyHashes = map[string]bool{
	"d41d8cd98f00b204e9800998ecf8427e":                                 true,
	"da39a3ee5e6b4b0d3255bfef95601890afd80709":                         true,
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": true,
}

// Private reports whether o is an IP address outside the public
// Internet (private, loopback, link-local, multicast, shared address space,
// documentation and reserved ranges) or a URL on one.
func Private(o Observable) bool {
	switch o.Kind {
	case IP:
		a, err := netip.ParseAddr(o.Value)
		return err == nil && privateAddr(a)
	case URL:
		_, host, ok := normalizeURL(o.Value)
		return ok && privateHost(host)
	}
	return false
}

// Public returns the observables of obs that are not Private, for a
// caller that has no use for addresses of the local network.
func Public(obs []Observable) []Observable {
	out := make([]Observable, 0, len(obs))
	for _, o := range obs {
		if !Private(o) {
			out = append(out, o)
		}
	}
	return out
}

// reservedPrefixes are the ranges outside the public Internet that netip's
// own tests do not cover.
var reservedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// privateAddr reports whether a lies outside the public Internet.
func privateAddr(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, p := range reservedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// privateHost reports whether a URL's host is an IP address outside the
// public Internet.
func privateHost(host string) bool {
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return err == nil && privateAddr(a)
}

// normalizeURL returns the grouping form of a URL: scheme and host in
// lower case, the scheme's default port and the fragment dropped, an
// empty path written "/"; and its host.
func normalizeURL(v string) (string, string, bool) {
	scheme, rest, ok := strings.Cut(v, "://")
	if !ok || scheme == "" {
		return "", "", false
	}
	scheme = strings.ToLower(scheme)
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	authEnd := strings.IndexAny(rest, "/?")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	auth, path := rest[:authEnd], rest[authEnd:]
	if path == "" || path[0] == '?' {
		path = "/" + path
	}
	userinfo := ""
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		userinfo, auth = auth[:at+1], auth[at+1:]
	}
	host, port := auth, ""
	if colon := strings.LastIndexByte(auth, ':'); colon >= 0 && colon > strings.LastIndexByte(auth, ']') {
		host, port = auth[:colon], auth[colon+1:]
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return "", "", false
	}
	if port == defaultPorts[scheme] {
		port = ""
	}
	if port != "" {
		port = ":" + port
	}
	return scheme + "://" + userinfo + host + port + path, host, true
}

// defaultPorts are the ports a URL's scheme implies.
var defaultPorts = map[string]string{"http": "80", "https": "443", "ftp": "21"}
