package auth

import (
	"net/http/httptest"
	"testing"
)

func TestClientAddress(t *testing.T) {
	r := httptest.NewRequest("GET", "/login", nil)
	r.RemoteAddr = "192.0.2.7:51234"
	r.Header.Set("X-Forwarded-For", "203.0.113.1")
	if got := ClientAddress(r); got != "192.0.2.7" {
		t.Errorf("peer: %q", got)
	}
	r.RemoteAddr = "[2001:db8::7]:443"
	if got := ClientAddress(r); got != "2001:db8::7" {
		t.Errorf("IPv6 peer: %q", got)
	}
	if got := ClientAddress(WithClientAddress(r, "198.51.100.9")); got != "198.51.100.9" {
		t.Errorf("set by a middleware: %q", got)
	}
}
