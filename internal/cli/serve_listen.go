package cli

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// webListeners are serve's web listeners, opened before the jobs start:
// the console's, API's and site's, and the demo's HTTPS one beside it.
type webListeners struct {
	web  net.Listener
	demo net.Listener // nil but in the demo (without TLS configured)
}

func (l webListeners) close() {
	if l.web != nil {
		l.web.Close()
	}
	if l.demo != nil {
		l.demo.Close()
	}
}

// listenWeb opens the web listeners and records where they are
// reached: a.webBase (the listen address with the port it got, so that
// :0 becomes a real address) and, in the demo, a.demoHTTPS. a.siteBase
// reads both, for the site, the CSAF provider, the newsletter's mails
// and the social posts alike.
func (a *app) listenWeb() (webListeners, error) {
	var l webListeners
	var err error
	if l.web, err = listen(a.cfg.Listen, "listen"); err != nil {
		return l, err
	}
	scheme := "http"
	if a.cfg.TLS.Enabled() {
		scheme = "https"
	}
	a.webBase = scheme + "://" + l.web.Addr().String()
	if a.demo != nil && !a.cfg.TLS.Enabled() {
		if l.demo, a.demoHTTPS, err = a.listenDemoHTTPS(); err != nil {
			l.close()
			return webListeners{}, err
		}
	}
	return l, nil
}

// listenError is a listener that could not be opened on addr, set by the
// configuration key: what a person must change is said in their
// language when the system's reason is one they can act on.
type listenError struct {
	addr, key string
	err       error
}

func (e *listenError) Error() string {
	return fmt.Sprintf("listen on %s (%s): %v", e.addr, e.key, e.err)
}

func (e *listenError) Unwrap() error { return e.err }

// Explain says why in the reader's language: the address taken by
// another program, or a port that needs privileges; else nothing, and
// the error is shown as it is.
func (e *listenError) Explain() i18n.Message {
	switch {
	case errors.Is(e.err, syscall.EADDRINUSE):
		return i18n.M("cli.listen.inuse", e.addr, e.key)
	case errors.Is(e.err, syscall.EACCES):
		return i18n.M("cli.listen.denied", e.addr, e.key)
	case errors.Is(e.err, syscall.EADDRNOTAVAIL):
		return i18n.M("cli.listen.notlocal", e.addr, e.key)
	}
	return i18n.Message{}
}

// listen opens a TCP listener on addr, which the configuration key sets.
func listen(addr, key string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &listenError{addr: addr, key: key, err: err}
	}
	return l, nil
}
