package site

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// Source is what the site reads publications from;
// internal/publication/pubdb satisfies it.
type Source interface {
	ListPublications(ctx context.Context, q publication.Query) (publication.Page, error)
	// Revisions returns a publication's published revisions, oldest
	// first.
	Revisions(ctx context.Context, id int64) ([]publication.Revision, error)
	// Generation moves whenever what is public changes.
	Generation(ctx context.Context) (int64, error)
}

// Deps is what the site needs.
type Deps struct {
	Source  Source
	Catalog *i18n.Catalog
	Logger  *slog.Logger
	// BaseURL is where readers reach the site, without a trailing slash
	// (https://cert.example): feeds and security.txt need absolute links.
	BaseURL string
	// Name is the team's name, in every page's title and the feeds.
	Name string
	// Languages are the site's languages, the default first; each must
	// be a catalogue language. Empty: publication.DefaultLanguages.
	Languages []string
	// Severities is the severity scale, the worst first; the worst is
	// what the "critical only" feeds carry. Empty:
	// publication.DefaultSeverities.
	Severities []string
	// Newsletter are the languages of the newsletter's subscription
	// form (/newsletter/{lang}); empty when there is no newsletter, and
	// then no page links to one.
	Newsletter []string
	// SecurityTxt fills /.well-known/security.txt; without a contact the
	// file is not served (RFC 9116 requires one).
	SecurityTxt SecurityTxt
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Site is the public website's handler.
type Site struct {
	deps    Deps
	log     *slog.Logger
	cat     *i18n.Catalog
	pages   *templates
	handler http.Handler
	css     []byte
	cssHash string

	// snap is the current snapshot; loading serialises the loads.
	snap      atomic.Pointer[snapshot]
	loading   sync.Mutex
	checking  atomic.Bool
	lastCheck atomic.Int64 // unix nanoseconds of the last check started
	checks    sync.WaitGroup
}

// New builds the site.
func New(deps Deps) (*Site, error) {
	if deps.Source == nil {
		return nil, errors.New("site: no source")
	}
	if deps.Catalog == nil {
		return nil, errors.New("site: no catalogue")
	}
	if deps.BaseURL == "" {
		return nil, errors.New("site: no base URL")
	}
	deps.BaseURL = strings.TrimSuffix(deps.BaseURL, "/")
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if len(deps.Languages) == 0 {
		deps.Languages = publication.DefaultLanguages
	}
	for _, l := range deps.Languages {
		if !deps.Catalog.Supported(l) {
			return nil, fmt.Errorf("site: language %q is not in the catalogue", l)
		}
	}
	if len(deps.Severities) == 0 {
		deps.Severities = publication.DefaultSeverities
	}
	if deps.Name == "" {
		deps.Name = "Vigil"
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.SecurityTxt.Validity <= 0 || deps.SecurityTxt.Validity > MaxSecurityTxtValidity {
		deps.SecurityTxt.Validity = DefaultSecurityTxtValidity
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	s := &Site{deps: deps, log: deps.Logger, cat: deps.Catalog, pages: pages}
	s.css, s.cssHash = stylesheet()
	s.handler = s.routes()
	return s, nil
}

// Patterns are the paths web.New mounts the site on beside the console:
// the languages' trees, the stylesheet and security.txt.
func (s *Site) Patterns() []string {
	out := []string{"GET /site.css", "GET /.well-known/security.txt"}
	for _, l := range s.deps.Languages {
		out = append(out, "GET /"+l+"/")
	}
	return out
}

// routes maps the site's paths to their pages.
func (s *Site) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.chooseLanguage)
	m.HandleFunc("GET /site.css", s.stylesheetHandler)
	m.HandleFunc("GET /.well-known/security.txt", s.securityTxt)
	for _, lang := range s.deps.Languages {
		m.HandleFunc("GET /"+lang+"/{rest...}", s.cached(lang))
	}
	m.HandleFunc("/", s.notFoundAnyLanguage)
	return m
}

// ServeHTTP serves a request from the site.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// chooseLanguage sends the reader to the home page in the language the
// browser prefers among the site's.
func (s *Site) chooseLanguage(w http.ResponseWriter, r *http.Request) {
	lang := s.matchLanguage(r.Header.Get("Accept-Language"))
	w.Header().Set("Vary", "Accept-Language")
	w.Header().Set("Cache-Control", "no-cache")
	http.Redirect(w, r, "/"+lang+"/", http.StatusFound)
}

// matchLanguage picks the site language an Accept-Language header
// prefers, the default when it prefers none of them.
func (s *Site) matchLanguage(accept string) string {
	if lang := s.cat.Match(accept); slices.Contains(s.deps.Languages, lang) && accept != "" {
		// The catalogue answers its source language when nothing
		// matches; it counts only when the header asked for it.
		if lang != i18n.Source || strings.Contains(strings.ToLower(accept), i18n.Source) {
			return lang
		}
	}
	return s.deps.Languages[0]
}

// notFoundAnyLanguage answers a path outside the language trees, in the
// language the browser prefers.
func (s *Site) notFoundAnyLanguage(w http.ResponseWriter, r *http.Request) {
	lang := s.matchLanguage(r.Header.Get("Accept-Language"))
	body := s.renderNotFound(lang)
	writeHTML(w, http.StatusNotFound, body)
}

// unavailable answers 503 when the first snapshot cannot be loaded.
func (s *Site) unavailable(w http.ResponseWriter, r *http.Request, lang string, err error) {
	s.log.Error("site: load publications", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", "5")
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, s.cat.T(lang, "site.unavailable"), http.StatusServiceUnavailable)
}

func writeHTML(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
