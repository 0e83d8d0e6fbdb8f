package web

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
)

// TrustedProxies are the addresses whose forwarding headers Vigil
// believes: the reverse proxies the operator runs in front of it. A
// request from anywhere else is taken as it arrived, whatever headers it
// carries, because anyone can write "X-Forwarded-Proto: https".
type TrustedProxies []netip.Prefix

// Trusts reports whether a is one of the trusted proxies.
func (t TrustedProxies) Trusts(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client decides who sent r and whether their browser used HTTPS.
//
// A request whose connection does not come from a trusted proxy is
// described by the connection alone. From a trusted proxy, the forwarding
// chain is read from the right (the entry the nearest proxy added) to the
// left, through every trusted proxy, up to the first address that is not
// one: that is the client, and the protocol recorded with it is how the
// client connected. Entries further left were written by the client
// itself, or by proxies nobody vouches for, and are never read.
//
// The RFC 7239 Forwarded header is used when present; otherwise
// X-Forwarded-For with X-Forwarded-Proto (its last value: the one the
// nearest proxy set). A Forwarded header that does not parse makes Vigil
// ignore every forwarding header of the request. An entry whose address
// is "unknown", obfuscated or malformed ends the walk at the proxy that
// wrote it: that proxy is the best known client address.
func (t TrustedProxies) Client(r *http.Request) auth.Client {
	peer := auth.RemoteAddr(r)
	c := auth.Client{Addr: peer, HTTPS: r.TLS != nil}
	if !t.Trusts(peer) {
		return c
	}
	hops, ok := forwardedHops(r.Header)
	if !ok {
		return c
	}
	for i := len(hops) - 1; i >= 0; i-- {
		h := hops[i]
		if !h.addr.IsValid() {
			break
		}
		c.Addr = h.addr
		switch h.proto {
		case "https":
			c.HTTPS = true
		case "http":
			c.HTTPS = false
		}
		if !t.Trusts(h.addr) {
			break
		}
	}
	return c
}

// hop is one forwarding entry: the address a proxy received a request
// from, and the protocol of that connection ("" when not said).
type hop struct {
	addr  netip.Addr
	proto string
}

// forwardedHops returns the forwarding chain of h, oldest first; false
// when there is none or the Forwarded header is malformed.
func forwardedHops(h http.Header) ([]hop, bool) {
	if values := h.Values("Forwarded"); len(values) > 0 {
		return parseForwarded(strings.Join(values, ","))
	}
	var hops []hop
	for _, v := range h.Values("X-Forwarded-For") {
		for _, f := range strings.Split(v, ",") {
			hops = append(hops, hop{addr: parseNode(strings.TrimSpace(f))})
		}
	}
	if len(hops) == 0 {
		return nil, false
	}
	if protos := h.Values("X-Forwarded-Proto"); len(protos) > 0 {
		last := protos[len(protos)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		hops[len(hops)-1].proto = scheme(last)
	}
	return hops, true
}

// parseForwarded reads an RFC 7239 Forwarded value: elements separated by
// commas, each a list of name=value pairs separated by semicolons, values
// tokens or quoted strings.
func parseForwarded(v string) ([]hop, bool) {
	var hops []hop
	cur := hop{}
	seen := false // the current element has at least one pair
	i := 0
	for {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		if i == len(v) {
			break
		}
		if v[i] == ',' || v[i] == ';' {
			if v[i] == ',' {
				if seen {
					hops = append(hops, cur)
				}
				cur, seen = hop{}, false
			}
			i++
			continue
		}
		start := i
		for i < len(v) && isToken(v[i]) {
			i++
		}
		name := strings.ToLower(v[start:i])
		if name == "" || i == len(v) || v[i] != '=' {
			return nil, false
		}
		i++
		var value string
		if i < len(v) && v[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(v) {
				ch := v[i]
				if ch == '\\' && i+1 < len(v) {
					b.WriteByte(v[i+1])
					i += 2
					continue
				}
				i++
				if ch == '"' {
					closed = true
					break
				}
				b.WriteByte(ch)
			}
			if !closed {
				return nil, false
			}
			value = b.String()
		} else {
			start := i
			for i < len(v) && isToken(v[i]) {
				i++
			}
			value = v[start:i]
			if value == "" {
				return nil, false
			}
		}
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		if i < len(v) && v[i] != ',' && v[i] != ';' {
			return nil, false
		}
		switch name {
		case "for":
			cur.addr = parseNode(value)
		case "proto":
			cur.proto = scheme(value)
		}
		seen = true
	}
	if seen {
		hops = append(hops, cur)
	}
	return hops, len(hops) > 0
}

// isToken reports whether c may appear in an RFC 7230 token.
func isToken(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// parseNode reads a forwarded node: "192.0.2.1", "192.0.2.1:4711",
// "[2001:db8::1]", "[2001:db8::1]:4711" or a bare IPv6 address (as in
// X-Forwarded-For). "unknown", obfuscated names and anything else give an
// invalid address.
func parseNode(s string) netip.Addr {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}
		}
		return a.Unmap()
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Is4() {
		return ap.Addr()
	}
	return netip.Addr{}
}

// scheme keeps only the two protocols that mean something here.
func scheme(s string) string {
	switch s = strings.ToLower(strings.TrimSpace(s)); s {
	case "http", "https":
		return s
	}
	return ""
}

// clientDecision stores, for every request, who the client is and
// whether it used HTTPS, so cookies, HSTS and login throttling all read
// one decision (auth.ClientOf).
func clientDecision(trusted TrustedProxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(auth.WithClient(r.Context(), trusted.Client(r))))
	})
}
