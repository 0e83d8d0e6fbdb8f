package web

import (
	"net/http"
	"strings"
)

// sitePatterns is what the public website's handler says it serves.
type sitePatterns interface{ Patterns() []string }

// mountSite mounts the public website beside the console: on the
// patterns it names, and on / for visitors without a session cookie
// (readers), while a signed-in member reaching / gets the console's
// home page.
func mountSite(mux *http.ServeMux, site, console http.Handler) {
	if p, ok := site.(sitePatterns); ok {
		for _, pattern := range p.Patterns() {
			mux.Handle(pattern, site)
		}
	}
	mux.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasSessionCookie(r) {
			console.ServeHTTP(w, r)
			return
		}
		site.ServeHTTP(w, r)
	}))
}

// hasSessionCookie reports whether the request carries the console's
// session cookie (either name auth.Sessions gives it); whether the
// session is valid is the console's to decide.
func hasSessionCookie(r *http.Request) bool {
	for _, c := range r.Cookies() {
		if strings.HasSuffix(c.Name, "vigil-session") {
			return true
		}
	}
	return false
}
