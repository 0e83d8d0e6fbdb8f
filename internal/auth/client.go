package auth

import (
	"context"
	"net"
	"net/http"
	"net/netip"
)

// Client is what the web layer decided about the far end of a request:
// the address of the person's machine and whether their browser reached
// Vigil over HTTPS. Behind a TLS-terminating proxy neither can be read
// from the connection; the web layer believes the proxy's headers only
// when the proxy is one the operator listed as trusted, and stores the
// outcome here so that every package reads the same answer.
type Client struct {
	// Addr is the client's address; invalid when unknown.
	Addr netip.Addr
	// HTTPS reports that the browser's connection is encrypted, directly
	// or up to a trusted proxy.
	HTTPS bool
}

type clientKey struct{}

// WithClient returns a request context carrying the decision about the
// request's client. Only the web layer's front middleware calls it.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientOf returns the decision the web layer stored for r, or, for a
// request that did not pass through it (a handler mounted on its own, a
// test), what the connection itself tells: its TLS state and RemoteAddr.
func ClientOf(r *http.Request) Client {
	if c, ok := r.Context().Value(clientKey{}).(Client); ok {
		return c
	}
	return Client{Addr: RemoteAddr(r), HTTPS: r.TLS != nil}
}

// ClientAddr is the address of the person's machine, for login throttling
// and the audit log: a trusted proxy's forwarded address, else the
// connection's peer. Forwarding headers from anyone else are ignored, so
// a client cannot choose the address it is counted under.
func ClientAddr(r *http.Request) netip.Addr { return ClientOf(r).Addr }

// IsHTTPS reports whether the browser reached Vigil over HTTPS, directly
// or through a trusted proxy: the condition for Secure and __Host-
// cookies and for HSTS.
func IsHTTPS(r *http.Request) bool { return ClientOf(r).HTTPS }

// RemoteAddr is the connection peer's address of r, without its port;
// invalid when RemoteAddr is not an address (as in some tests).
func RemoteAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
