package web

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
)

// clientCase is one row of TestClientDecision: a request's peer, whether
// it came over TLS, its forwarding headers, and the client Vigil should
// believe.
type clientCase struct {
	name    string
	peer    string
	tls     bool
	headers []forwardHeader
	addr    string
	https   bool
}

// forwardHeader is one header line of a clientCase.
type forwardHeader struct{ name, value string }

// directClientCases are requests whose peer is not a trusted proxy: its
// headers are not believed.
var directClientCases = []clientCase{
	{name: "direct, no headers", peer: "198.51.100.7:5000", addr: "198.51.100.7"},
	{name: "direct over TLS", peer: "198.51.100.7:5000", tls: true, addr: "198.51.100.7", https: true},
	{name: "untrusted peer claims https", peer: "198.51.100.7:5000",
		headers: []forwardHeader{{"X-Forwarded-Proto", "https"}, {"X-Forwarded-For", "192.0.2.1"}}, addr: "198.51.100.7"},
	{name: "untrusted peer sends Forwarded", peer: "198.51.100.7:5000",
		headers: []forwardHeader{{"Forwarded", "for=192.0.2.1;proto=https"}}, addr: "198.51.100.7"},
	{name: "untrusted peer over TLS claims http", peer: "198.51.100.7:5000", tls: true,
		headers: []forwardHeader{{"X-Forwarded-Proto", "http"}}, addr: "198.51.100.7", https: true},
}

// xForwardedClientCases are requests from a trusted proxy that says who
// the client is in X-Forwarded-For and X-Forwarded-Proto.
var xForwardedClientCases = []clientCase{
	{name: "trusted proxy, X-Forwarded-*", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"X-Forwarded-For", "192.0.2.1"}, {"X-Forwarded-Proto", "https"}}, addr: "192.0.2.1", https: true},
	{name: "trusted proxy, plain http", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"X-Forwarded-For", "192.0.2.1"}, {"X-Forwarded-Proto", "http"}}, addr: "192.0.2.1"},
	{name: "trusted proxy, no proto said", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"X-Forwarded-For", "192.0.2.1"}}, addr: "192.0.2.1"},
	{name: "trusted proxy, proto without for", peer: "127.0.0.1:40000",
		headers: []forwardHeader{{"X-Forwarded-Proto", "https"}}, addr: "127.0.0.1"},
	{name: "client-written X-Forwarded-For is skipped", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"X-Forwarded-For", "203.0.113.66, 192.0.2.1"}, {"X-Forwarded-Proto", "https"}}, addr: "192.0.2.1", https: true},
	{name: "chain of trusted proxies", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"X-Forwarded-For", "203.0.113.66, 192.0.2.1, 10.9.9.9"}, {"X-Forwarded-Proto", "https"}}, addr: "192.0.2.1", https: true},
	{name: "X-Forwarded-For over two header lines", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"X-Forwarded-For", "203.0.113.66"}, {"X-Forwarded-For", "192.0.2.1"}}, addr: "192.0.2.1"},
	{name: "last X-Forwarded-Proto value counts", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"X-Forwarded-For", "192.0.2.1"}, {"X-Forwarded-Proto", "http, https"}}, addr: "192.0.2.1", https: true},
	{name: "client-written proto before the proxy's", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"X-Forwarded-For", "192.0.2.1"}, {"X-Forwarded-Proto", "https, http"}}, addr: "192.0.2.1"},
	{name: "unknown proto ignored", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"X-Forwarded-For", "192.0.2.1"}, {"X-Forwarded-Proto", "wss"}}, addr: "192.0.2.1"},
	{name: "garbage in X-Forwarded-For stops at the proxy", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"X-Forwarded-For", "192.0.2.1, not-an-address"}, {"X-Forwarded-Proto", "https"}}, addr: "10.1.2.3"},
	{name: "X-Forwarded-For with IPv6", peer: "[fd00::5]:40000",
		headers: []forwardHeader{{"X-Forwarded-For", "2001:db8::1"}, {"X-Forwarded-Proto", "https"}}, addr: "2001:db8::1", https: true},
	{name: "X-Forwarded-For with port", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"X-Forwarded-For", "192.0.2.1:5555"}}, addr: "192.0.2.1"},
	{name: "IPv4-mapped peer is trusted", peer: "[::ffff:10.1.2.3]:40000",
		headers: []forwardHeader{{"X-Forwarded-For", "192.0.2.1"}, {"X-Forwarded-Proto", "https"}}, addr: "192.0.2.1", https: true},
}

// forwardedClientCases are requests from a trusted proxy that says who
// the client is in the Forwarded header (RFC 7239), well-formed or not.
var forwardedClientCases = []clientCase{
	{name: "Forwarded", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", "for=192.0.2.1;proto=https"}}, addr: "192.0.2.1", https: true},
	{name: "Forwarded, case and spaces", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", `For="192.0.2.1" ; Proto=HTTPS ; by=10.1.2.3`}}, addr: "192.0.2.1", https: true},
	{name: "Forwarded IPv6 with port", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", `for="[2001:db8::1]:4711";proto=https`}}, addr: "2001:db8::1", https: true},
	{name: "Forwarded IPv4 with port", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", `for="192.0.2.1:4711";proto=https`}}, addr: "192.0.2.1", https: true},
	{name: "Forwarded chain, the client's proto counts", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", "for=192.0.2.1;proto=https, for=10.5.5.5;proto=http"}}, addr: "192.0.2.1", https: true},
	{name: "Forwarded, client-written element skipped", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", "for=203.0.113.66;proto=http, for=192.0.2.1;proto=https"}}, addr: "192.0.2.1", https: true},
	{name: "Forwarded over two header lines", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", "for=203.0.113.66"}, {"Forwarded", "for=192.0.2.1;proto=https"}}, addr: "192.0.2.1", https: true},
	{name: "Forwarded wins over X-Forwarded-*", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", "for=192.0.2.1;proto=http"}, {"X-Forwarded-For", "192.0.2.99"}, {"X-Forwarded-Proto", "https"}}, addr: "192.0.2.1"},
	{name: "Forwarded unknown stops at the proxy", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", "for=unknown;proto=https"}}, addr: "10.1.2.3"},
	{name: "Forwarded obfuscated stops at the proxy", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", "for=_hidden;proto=https"}}, addr: "10.1.2.3"},
	{name: "Forwarded unquoted port is malformed", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", "for=192.0.2.1:4711;proto=https"}}, addr: "10.1.2.3"},
	{name: "Forwarded unterminated quote is malformed", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", `for="192.0.2.1;proto=https`}}, addr: "10.1.2.3"},
	{name: "Forwarded pair without value is malformed", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", "for=;proto=https"}}, addr: "10.1.2.3"},
	{name: "Forwarded without pairs is malformed", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", "https"}}, addr: "10.1.2.3"},
	{name: "malformed Forwarded hides X-Forwarded-*", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", "for"}, {"X-Forwarded-For", "192.0.2.1"}, {"X-Forwarded-Proto", "https"}}, addr: "10.1.2.3"},
	{name: "empty Forwarded elements", peer: "10.1.2.3:40000",
		headers: []forwardHeader{{"Forwarded", ", ,for=192.0.2.1;proto=https,"}}, addr: "192.0.2.1", https: true},
}

// TestClientDecision is the table of who Vigil believes: a request's
// peer, its forwarding headers, and what comes out.
func TestClientDecision(t *testing.T) {
	trusted := TrustedProxies{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("fd00::/8"),
	}
	for _, tc := range slices.Concat(directClientCases, xForwardedClientCases, forwardedClientCases) {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			} else {
				r.TLS = nil
			}
			for _, h := range tc.headers {
				r.Header.Add(h.name, h.value)
			}
			got := trusted.Client(r)
			if want := netip.MustParseAddr(tc.addr); got.Addr != want || got.HTTPS != tc.https {
				t.Errorf("got address %v, https %v; want %v, %v", got.Addr, got.HTTPS, want, tc.https)
			}
		})
	}
}

// TestClientDecisionReachesHandlers checks that the decision made in
// front is what auth's accessors return inside a handler.
func TestClientDecisionReachesHandlers(t *testing.T) {
	var got auth.Client
	var gotAddr netip.Addr
	h := clientDecision(TrustedProxies{netip.MustParsePrefix("10.0.0.0/8")}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotAddr = auth.ClientOf(r), auth.ClientAddr(r)
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.1:1234"
	r.Header.Set("X-Forwarded-For", "192.0.2.1")
	r.Header.Set("X-Forwarded-Proto", "https")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if want := netip.MustParseAddr("192.0.2.1"); !got.HTTPS || got.Addr != want || gotAddr != want {
		t.Fatalf("handler saw %+v, ClientAddr %v", got, gotAddr)
	}
	// Without the middleware the accessors fall back to the connection.
	if a := auth.ClientAddr(r); a != netip.MustParseAddr("10.0.0.1") || auth.IsHTTPS(r) {
		t.Fatalf("fallback: %v https %v", a, auth.IsHTTPS(r))
	}
}

// FuzzForwarded feeds arbitrary Forwarded and X-Forwarded-* headers from
// a trusted proxy: nothing panics, and the client is always an address
// from the request (the peer or one named in the headers).
func FuzzForwarded(f *testing.F) {
	for _, s := range []string{"for=192.0.2.1;proto=https", `for="[2001:db8::1]:80"`, "for=unknown", `for="x`, ",;,=", "for=1.2.3.4, for=10.0.0.1;proto=http"} {
		f.Add(s, "192.0.2.1, 10.0.0.2", "https")
	}
	trusted := TrustedProxies{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, forwarded, xff, xfp string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "10.0.0.1:1234"
		r.TLS = nil
		if forwarded != "" {
			r.Header.Set("Forwarded", forwarded)
		}
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("X-Forwarded-Proto", xfp)
		c := trusted.Client(r)
		if !c.Addr.IsValid() {
			t.Fatalf("no client address for %q / %q", forwarded, xff)
		}
		if c.Addr != netip.MustParseAddr("10.0.0.1") && !strings.Contains(forwarded+xff, strings.TrimPrefix(c.Addr.String(), "::ffff:")) && !c.Addr.Is6() {
			t.Fatalf("client %v appears nowhere in %q / %q", c.Addr, forwarded, xff)
		}
	})
}
