package cli

import (
	"crypto/tls"
	"net"
	"net/http"

	"github.com/vigil-cert/vigil/internal/web"
)

// demoHTTPSPort is where the demo serves HTTPS beside its plain-HTTP
// listener, on the same host.
const demoHTTPSPort = "8443"

// listenDemoHTTPS opens the demo's HTTPS listener, so that the public
// site and the CSAF provider can be checked as a reader and gocsaf's
// checker would reach them, and returns it with its https URL. The port
// is 8443 on the listen address's host, or any free one when that is
// taken or the listen port is 0 (tests).
func (a *app) listenDemoHTTPS() (net.Listener, string, error) {
	host, port, err := net.SplitHostPort(a.cfg.Listen)
	if err != nil {
		return nil, "", err
	}
	addr := net.JoinHostPort(host, demoHTTPSPort)
	if port == "0" {
		addr = net.JoinHostPort(host, "0")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		a.log.Warn("demo https: port taken, using another", "addr", addr, "err", err)
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
			return nil, "", failedTo(err, "cli.start.demohttps")
		}
	}
	return ln, "https://" + ln.Addr().String(), nil
}

// serveDemoHTTPS serves handler on ln over HTTPS with the demo's
// self-signed certificate, generated into the data directory.
func (a *app) serveDemoHTTPS(group *jobs, handler http.Handler, limits web.Limits, ln net.Listener) error {
	certFile, keyFile, err := a.demo.Certificate()
	if err != nil {
		ln.Close()
		return err
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		ln.Close()
		return failedTo(err, "cli.start.democert", certFile)
	}
	srv := web.NewServer(handler, limits, a.log)
	srv.TLSConfig = web.TLSConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &pair, nil })
	group.run("demo https", serveHTTP(srv, ln, true))
	a.log.Info("demo https: the public site and the CSAF provider, self-signed certificate", "url", a.demoHTTPS, "cert", certFile)
	return nil
}
