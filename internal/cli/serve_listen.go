package cli

import (
	"fmt"
	"net"
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
	if l.web, err = net.Listen("tcp", a.cfg.Listen); err != nil {
		return l, fmt.Errorf("listen on %s: %w", a.cfg.Listen, err)
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
