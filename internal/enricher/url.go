package enricher

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterEnricher("url",
		"source/destination fqdn or ip, and port, from source.url / destination.url",
		func(_ pipeline.Env, opts pipeline.Options) (pipeline.Enricher, error) {
			if err := opts.Decode(&struct{}{}); err != nil {
				return nil, fmt.Errorf("url: %w", err)
			}
			return URL{}, nil
		})
}

// URL fills a side's fqdn (the URL's host is a name) or ip (the host is an
// address literal), and its port when the URL names one, from the side's
// url. Fields already set are kept: a feed that reports where a phishing
// site's name resolved has told more than the URL does.
//
// Hosts that browsers read as IPv4 addresses although they are not dotted
// quads (http://3232235777/, http://0xc0.0250.1.1/ — a favourite of
// phishing kits) become the address they stand for, as the WHATWG URL
// standard says.
type URL struct{}

// Enrich implements pipeline.Enricher.
func (URL) Enrich(_ context.Context, b *pipeline.Batch) error {
	for _, e := range b.Events {
		for i := range sides {
			enrichURLSide(e, &sides[i])
		}
	}
	return nil
}

// MayAdd implements pipeline.FieldAdder: a side with a URL may get the
// address or the name of its host (which of the two is not known before
// the URL is read: both are counted) and its port.
func (URL) MayAdd(has func(key string) bool) []string {
	var keys []string
	for i := range sides {
		k := &sides[i]
		if has(k.url) {
			keys = append(keys, k.ip, k.fqdn, k.port)
		}
	}
	return keys
}

func enrichURLSide(e *event.Event, k *sideKeys) {
	u, ok := e.Get(k.url)
	if !ok {
		return
	}
	host, port, ok := splitURLHost(u)
	if !ok {
		return
	}
	hostSet := false
	if addr, isAddr := parseHostAddr(host); isAddr {
		if addr.IsValid() && !e.Has(k.ip) {
			var buf [64]byte
			if string(addr.AppendTo(buf[:0])) == host {
				e.SetTrusted(k.ip, host) // already canonical: no allocation
			} else {
				e.SetTrusted(k.ip, addr.String())
			}
		}
		hostSet = addr.IsValid()
	} else if !e.Has(k.fqdn) {
		if plainHostName(host) {
			e.SetTrusted(k.fqdn, host)
			hostSet = true
		} else {
			// Set validates: a host that is no valid name is left out.
			hostSet = e.Set(k.fqdn, host) == nil
		}
	} else {
		hostSet = true
	}
	if hostSet && port != "" && !e.Has(k.port) {
		if n, err := strconv.ParseUint(port, 10, 16); err == nil {
			if port[0] != '0' || port == "0" {
				e.SetTrusted(k.port, port)
			} else {
				e.SetInt(k.port, int64(n))
			}
		}
	}
}

// splitURLHost returns the host and the explicit port of an absolute URL
// without allocating. IPv6 literals keep their brackets off; the port is ""
// when the URL names none.
func splitURLHost(u string) (host, port string, ok bool) {
	rest := u
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?#\\"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if rest == "" {
		return "", "", false
	}
	if rest[0] == '[' {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", "", false
		}
		host, rest = rest[1:end], rest[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", "", false
			}
			port = rest[1:]
		}
		if !strings.Contains(host, ":") {
			return "", "", false // brackets hold IPv6 only
		}
		return host, port, host != ""
	}
	host = rest
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		host, port = rest[:i], rest[i+1:]
	}
	return host, port, host != ""
}

// parseHostAddr reports whether host is an address literal, and which.
// isAddr with an invalid address means the host looks like an address to a
// browser but is none (http://1.2.3.999/): neither an ip nor an fqdn.
func parseHostAddr(host string) (addr netip.Addr, isAddr bool) {
	if strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		if err != nil || a.Zone() != "" {
			return netip.Addr{}, true
		}
		return a.Unmap(), true
	}
	// WHATWG: a host whose last label is a number is an IPv4 address.
	// Names are by far the most common hosts; telling them apart first
	// spares them the error values of failed parses.
	last := strings.TrimSuffix(host, ".")
	if i := strings.LastIndexByte(last, '.'); i >= 0 {
		last = last[i+1:]
	}
	if !numberLike(last) {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a, true
	}
	a, ok := parseWHATWGIPv4(strings.TrimSuffix(host, "."))
	if !ok {
		return netip.Addr{}, true
	}
	return a, true
}

// numberLike reports whether a label is decimal digits or 0x and hex
// digits: the WHATWG "ends in a number" test.
func numberLike(s string) bool {
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		for i := 2; i < len(s); i++ {
			c := s[i] | 0x20
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
		return true
	}
	return allDigits(s)
}

// plainHostName reports whether host is a host name already in the
// canonical form the event model keeps (lower-case ASCII letters, digits,
// '-' and '_', labels of 1 to 63, at most 253 in all), so it can be stored
// without the validation that would only return it unchanged.
func plainHostName(host string) bool {
	if len(host) == 0 || len(host) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			label++
			if label > 63 {
				return false
			}
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		default:
			return false
		}
	}
	return label > 0
}

// parseWHATWGIPv4 reads the IPv4 forms of the WHATWG URL standard: one to
// four parts, each decimal, octal (leading 0) or hexadecimal (0x), the last
// part filling the remaining bytes.
func parseWHATWGIPv4(host string) (netip.Addr, bool) {
	var parts [4]uint64
	n := 0
	for p := range strings.SplitSeq(host, ".") {
		if n == len(parts) {
			return netip.Addr{}, false
		}
		v, ok := parseIPv4Number(p)
		if !ok {
			return netip.Addr{}, false
		}
		parts[n] = v
		n++
	}
	var ip uint64
	for i := 0; i < n-1; i++ {
		if parts[i] > 255 {
			return netip.Addr{}, false
		}
		ip = ip<<8 | parts[i]
	}
	rem := uint(4 - (n - 1))
	if parts[n-1] >= 1<<(8*rem) {
		return netip.Addr{}, false
	}
	ip = ip<<(8*rem) | parts[n-1]
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true
}

func parseIPv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := 10
	switch {
	case len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, s = 16, s[2:]
		if s == "" {
			return 0, true // "0x" is zero, says the standard
		}
	case len(s) >= 2 && s[0] == '0':
		base, s = 8, s[1:]
	}
	v, err := strconv.ParseUint(s, base, 64)
	if err != nil || v > 1<<32-1 {
		return 0, false
	}
	return v, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var (
	_ pipeline.Enricher   = URL{}
	_ pipeline.FieldAdder = URL{}
)
