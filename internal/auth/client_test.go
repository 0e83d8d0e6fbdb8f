package auth

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientAccessors checks that cookies follow the web layer's HTTPS
// decision, not the connection, and what the accessors fall back to.
func TestClientAccessors(t *testing.T) {
	m := NewSessions(nil, SessionConfig{}, nil)
	plain := httptest.NewRequest(http.MethodGet, "/", nil)
	plain.RemoteAddr = "[2001:db8::7]:4000"
	t.Run("fallback to the connection", func(t *testing.T) {
		if got := ClientAddr(plain); got != netip.MustParseAddr("2001:db8::7") {
			t.Errorf("ClientAddr %v", got)
		}
		if IsHTTPS(plain) || m.Secure(plain) || m.CookieName(plain) != "vigil-session" {
			t.Errorf("plain request counted as HTTPS")
		}
		direct := plain.Clone(plain.Context())
		direct.TLS = &tls.ConnectionState{}
		if !IsHTTPS(direct) || m.CookieName(direct) != "__Host-vigil-session" {
			t.Errorf("TLS request not counted as HTTPS")
		}
	})
	t.Run("the web layer's decision", func(t *testing.T) {
		behindProxy := plain.WithContext(WithClient(plain.Context(), Client{Addr: netip.MustParseAddr("192.0.2.1"), HTTPS: true}))
		if ClientAddr(behindProxy) != netip.MustParseAddr("192.0.2.1") || !m.Secure(behindProxy) || m.CookieName(behindProxy) != "__Host-vigil-session" {
			t.Errorf("decision not followed: %+v", ClientOf(behindProxy))
		}
		said := plain.WithContext(WithClient(plain.Context(), Client{Addr: netip.MustParseAddr("192.0.2.1")}))
		if m.Secure(said) {
			t.Error("plain decision counted as HTTPS")
		}
	})
	t.Run("unparsable remote address", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "pipe"
		if ClientAddr(r).IsValid() {
			t.Errorf("ClientAddr %v for %q", ClientAddr(r), r.RemoteAddr)
		}
		r.RemoteAddr = "192.0.2.9"
		if ClientAddr(r) != netip.MustParseAddr("192.0.2.9") {
			t.Errorf("ClientAddr %v for a bare address", ClientAddr(r))
		}
	})
}
