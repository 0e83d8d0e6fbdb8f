// Package web is Vigil's HTTP front door: it mounts the analyst console,
// the JSON API, Prometheus metrics and a health check under one handler,
// decides once per request who the client is and whether it came over
// HTTPS (believing only trusted proxies), puts the browser security
// headers on every response, and builds the servers, TLS settings and
// limits every listener of `vigil serve` uses.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/console"
)

// Deps is what the web server needs from the rest of Vigil.
type Deps struct {
	// Console configures the console mounted at /. Its Store also answers
	// the health check, its Logger records handler panics and its Version
	// is the one /healthz reports. Console.Sessions makes cookies Secure
	// and __Host- whenever the request is HTTPS (see TrustedProxies);
	// Sessions.Secure forces that for a proxy that cannot say so.
	Console console.Config
	Metrics http.Handler // served at /metrics (Prometheus); nil: not served
	API     http.Handler // mounted at /api/v1/; nil: not served
	// Site is the public website (internal/site), mounted on the paths
	// its Patterns method names (each language's tree, its stylesheet
	// and /.well-known/security.txt); a visitor to / without a session
	// cookie goes to it. nil: not served.
	Site http.Handler
	// CSAF is the CSAF 2.0 provider (internal/publication/csaf), mounted
	// at /.well-known/csaf/; nil: not served.
	CSAF http.Handler
	// TrustedProxies are the reverse proxies whose X-Forwarded-* and
	// Forwarded headers are believed; empty believes nobody's.
	TrustedProxies TrustedProxies
	// HSTS is the Strict-Transport-Security value sent over HTTPS: ""
	// means DefaultHSTS, "off" sends none.
	HSTS string
	// Limits bound request bodies and slow responses; zero fields take
	// DefaultLimits' values. Give the same Limits to NewServer.
	Limits Limits
}

// ContentSecurityPolicy allows only this site's stylesheet and images
// (data: for the TOTP QR code), no scripts at all, and no framing.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// DefaultHSTS tells browsers to use HTTPS for a year, on subdomains too.
const DefaultHSTS = "max-age=31536000; includeSubDomains"

// New builds the handler for `vigil serve`.
func New(deps Deps) (http.Handler, error) {
	if deps.Console.Store == nil {
		return nil, errors.New("web: no store")
	}
	if deps.Console.Logger == nil {
		deps.Console.Logger = slog.New(slog.DiscardHandler)
	}
	con, err := console.New(deps.Console)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", health(deps.Console.Store, deps.Console.Version, deps.Console.Logger))
	if deps.Metrics != nil {
		mux.Handle("GET /metrics", deps.Metrics)
	}
	if deps.API != nil {
		mux.Handle("/api/v1/", http.StripPrefix("/api/v1", deps.API))
	}
	// Browsers' Sec-Fetch-Site and Origin headers refuse cross-site form
	// posts before they reach the console, in addition to its CSRF tokens.
	protected := http.NewCrossOriginProtection().Handler(con)
	mux.Handle("/", protected)
	if deps.Site != nil {
		mountSite(mux, deps.Site, protected)
	}
	if deps.CSAF != nil {
		mux.Handle("GET /.well-known/csaf/", deps.CSAF)
	}
	hsts := deps.HSTS
	switch hsts {
	case "":
		hsts = DefaultHSTS
	case "off":
		hsts = ""
	}
	// The client decision comes first: every layer after it, and every
	// handler, reads it through auth.ClientOf.
	return clientDecision(deps.TrustedProxies,
		securityHeaders(hsts, limitRequests(deps.Limits, recoverPanics(strictQueries(mux, con), deps.Console.Logger)))), nil
}

// securityHeaders sets the browser protections on every response,
// whichever handler writes it. HSTS goes only with HTTPS responses (RFC
// 6797 has browsers ignore it over HTTP), including those a trusted
// proxy received over HTTPS.
func securityHeaders(hsts string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if hsts != "" && auth.IsHTTPS(r) {
			h.Set("Strict-Transport-Security", hsts)
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a handler's panic into a logged 500 instead of a
// dropped connection.
func recoverPanics(next http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v)
				http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// userCounter is the part of the store the health check asks: counting
// the users is a query every store answers at once.
type userCounter interface {
	CountUsers(ctx context.Context) (int64, error)
}

// health answers 200 "ok" when the store answers, 503 otherwise; JSON when
// the client asks for it.
func health(st userCounter, version string, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status, code := "ok", http.StatusOK
		if _, err := st.CountUsers(ctx); err != nil {
			logger.Error("health check: store", "err", err)
			status, code = "store unavailable", http.StatusServiceUnavailable
		}
		w.Header().Set("Cache-Control", "no-store")
		if strings.Contains(r.Header.Get("Accept"), "application/json") || r.URL.Query().Get("format") == "json" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_ = json.NewEncoder(w).Encode(map[string]string{"status": status, "version": version})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = fmt.Fprintln(w, status)
	})
}
