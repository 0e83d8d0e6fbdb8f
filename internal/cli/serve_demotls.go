package cli

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"

	"github.com/vigil-cert/vigil/internal/web"
)

// demoHTTPSPort is where the demo serves HTTPS beside its plain-HTTP
// listener, on the same host.
const demoHTTPSPort = "8443"

// startDemoHTTPS serves handler over HTTPS as well, with the demo's
// self-signed certificate, so that the public site and the CSAF provider
// can be checked as a reader and gocsaf's checker would reach them; it
// returns the https URL. The port is 8443 on the listen address's host,
// or any free one when that is taken or the listen port is 0 (tests).
func (a *app) startDemoHTTPS(group *jobs, handler http.Handler, limits web.Limits) (string, error) {
	certFile, keyFile, err := a.demo.Certificate()
	if err != nil {
		return "", err
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return "", fmt.Errorf("demo certificate: %w", err)
	}
	host, port, err := net.SplitHostPort(a.cfg.Listen)
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort(host, demoHTTPSPort)
	if port == "0" {
		addr = net.JoinHostPort(host, "0")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		a.log.Warn("demo https: port taken, using another", "addr", addr, "err", err)
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
			return "", fmt.Errorf("demo https: %w", err)
		}
	}
	srv := web.NewServer(handler, limits, a.log)
	srv.TLSConfig = web.TLSConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &pair, nil })
	group.run("demo https", serveHTTP(srv, ln, true))
	url := "https://" + ln.Addr().String()
	a.log.Info("demo https: the public site and the CSAF provider, self-signed certificate", "url", url, "cert", certFile)
	return url, nil
}
