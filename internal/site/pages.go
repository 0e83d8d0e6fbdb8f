package site

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/publication"
)

// perPage is how many publications a list or search page shows.
const perPage = 20

// listKinds maps the lists' path names to their kinds.
var listKinds = map[string]publication.Kind{
	"advisories": publication.KindAdvisory,
	"warnings":   publication.KindWarning,
	"news":       publication.KindNews,
	"digests":    publication.KindDigest,
}

// kindPaths is listKinds the other way round.
var kindPaths = map[publication.Kind]string{
	publication.KindAdvisory: "advisories",
	publication.KindWarning:  "warnings",
	publication.KindNews:     "news",
	publication.KindDigest:   "digests",
}

// request is a page asked for: its language, what it is, and the
// filters that change it, normalised so that one page has one key.
type request struct {
	lang string
	// page is "home", "list", "search", "detail", "feed" or "" (none).
	page   string
	kind   publication.Kind
	ident  string
	format string // "rss" or "atom"
	// critical limits a feed to the worst severity.
	critical bool
	filter   filter
}

// filter is a list's or a search's selection.
type filter struct {
	Severity string
	From, To string // YYYY-MM-DD, empty for none
	Query    string
	Page     int
}

// values writes the filter as a query, without the page when pageless.
func (f filter) values(pageless bool) url.Values {
	v := url.Values{}
	if f.Query != "" {
		v.Set("q", f.Query)
	}
	if f.Severity != "" {
		v.Set("severity", f.Severity)
	}
	if f.From != "" {
		v.Set("from", f.From)
	}
	if f.To != "" {
		v.Set("to", f.To)
	}
	if !pageless && f.Page > 1 {
		v.Set("page", strconv.Itoa(f.Page))
	}
	return v
}

// key is the request's cache key.
func (q request) key(rest string) string {
	k := q.lang + "/" + rest
	if enc := q.filter.values(false).Encode(); enc != "" {
		k += "?" + enc
	}
	return k
}

// parseRequest reads what the path under /{lang}/ and the query ask for;
// values that are not valid are dropped, so junk in a query neither
// fails the page nor fills the cache with copies.
func (s *Site) parseRequest(lang, rest string, query url.Values) request {
	q := request{lang: lang, filter: filter{Page: 1}}
	switch {
	case rest == "":
		q.page = "home"
	case listKinds[rest] != "":
		q.page, q.kind = "list", listKinds[rest]
		s.parseFilter(&q.filter, query)
	case rest == "search":
		q.page = "search"
		s.parseFilter(&q.filter, query)
		q.filter.Query = strings.TrimSpace(query.Get("q"))
		if utf8.RuneCountInString(q.filter.Query) > 200 {
			q.filter.Query = string([]rune(q.filter.Query)[:200])
		}
	case strings.HasPrefix(rest, "p/") && len(rest) > 2 && !strings.Contains(rest[2:], "/"):
		q.page, q.ident = "detail", rest[2:]
	default:
		name, format, ok := strings.Cut(rest, ".")
		if !ok || (format != "rss" && format != "atom") {
			return q
		}
		switch {
		case name == "feed":
		case name == "critical":
			q.critical = true
		case listKinds[name] != "":
			q.kind = listKinds[name]
		default:
			return q
		}
		q.page, q.format = "feed", format
	}
	return q
}

// parseFilter reads a list's severity, dates and page.
func (s *Site) parseFilter(f *filter, query url.Values) {
	if sev := strings.ToLower(query.Get("severity")); sev != "" {
		for _, known := range s.deps.Severities {
			if sev == known {
				f.Severity = sev
			}
		}
	}
	for _, d := range []struct {
		name string
		to   *string
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := query.Get(d.name); v != "" {
			if _, err := time.Parse(time.DateOnly, v); err == nil {
				*d.to = v
			}
		}
	}
	if n, err := strconv.Atoi(query.Get("page")); err == nil && n > 1 && n < 100000 {
		f.Page = n
	}
}

// match reports whether p passes the filter's severity and dates.
func (f filter) match(p *publication.Publication) bool {
	if f.Severity != "" && p.Severity != f.Severity {
		return false
	}
	day := p.Published.UTC().Format(time.DateOnly)
	if f.From != "" && day < f.From {
		return false
	}
	if f.To != "" && day > f.To {
		return false
	}
	return true
}

// cached serves the pages under /{lang}/ from the snapshot's cache,
// rendering a page the first time it is asked for.
func (s *Site) cached(lang string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap, err := s.current(r.Context())
		if err != nil {
			s.unavailable(w, r, lang, err)
			return
		}
		// The address as it came is looked up first: a page asked for
		// again is served without parsing its query.
		raw := r.URL.Path + "?" + r.URL.RawQuery
		if e := snap.getRaw(raw); e != nil {
			e.serve(w, r)
			return
		}
		rest := r.PathValue("rest")
		q := s.parseRequest(lang, rest, r.URL.Query())
		key := q.key(rest)
		e := snap.get(key)
		if e == nil {
			e = s.render(r, snap, q)
			if cacheable(key, q, e) {
				snap.put(key, e)
			}
		}
		if cacheable(raw, q, e) {
			snap.putRaw(raw, e)
		}
		e.serve(w, r)
	}
}

// maxCachedKey bounds the addresses and keys the caches keep, so that
// made-up long addresses cannot fill them.
const maxCachedKey = 256

// cacheable reports whether an answer is kept under key: pages that
// exist, at short addresses; not searches, whose words are the reader's
// (rendered from the snapshot in memory, they are cheap), nor answers
// that something is missing, whose addresses anyone can make up.
func cacheable(key string, q request, e *entry) bool {
	return len(key) <= maxCachedKey && q.page != "search" && e.status == http.StatusOK
}

// Cache-Control of pages (revalidated each time: a warning must show at
// once) and of feeds (readers poll them).
const (
	pageCacheControl = "public, no-cache"
	feedCacheControl = "public, max-age=300"
)

// render renders the page q asks for.
func (s *Site) render(r *http.Request, snap *snapshot, q request) *entry {
	var body []byte
	switch q.page {
	case "home":
		body = s.renderHome(snap, q)
	case "list":
		body = s.renderList(snap, q)
	case "search":
		body = s.renderSearch(snap, q)
	case "detail":
		p := snap.byIdent[q.ident]
		if p == nil {
			return newEntry(http.StatusNotFound, htmlType, pageCacheControl, s.renderNotFound(q.lang), snap.modified)
		}
		body = s.renderDetail(r.Context(), snap, q, p)
	case "feed":
		return newEntry(http.StatusOK, feedType(q.format), feedCacheControl, s.renderFeed(snap, q), snap.modified)
	default:
		return newEntry(http.StatusNotFound, htmlType, pageCacheControl, s.renderNotFound(q.lang), snap.modified)
	}
	return newEntry(http.StatusOK, htmlType, pageCacheControl, body, snap.modified)
}

const htmlType = "text/html; charset=utf-8"

// selectKind returns the snapshot's publications of kind ("" for all)
// that pass f, the latest first.
func selectKind(snap *snapshot, kind publication.Kind, f filter) []*publication.Publication {
	var out []*publication.Publication
	for i := range snap.pubs {
		p := &snap.pubs[i]
		if (kind == "" || p.Kind == kind) && f.match(p) {
			out = append(out, p)
		}
	}
	return out
}

// searchPubs returns the publications whose text holds every word of
// the query.
func searchPubs(snap *snapshot, f filter) []*publication.Publication {
	words := strings.Fields(strings.ToLower(f.Query))
	if len(words) == 0 {
		return nil
	}
	var out []*publication.Publication
	for i := range snap.pubs {
		p := &snap.pubs[i]
		if !f.match(p) {
			continue
		}
		all := true
		for _, w := range words {
			if !strings.Contains(snap.search[i], w) {
				all = false
				break
			}
		}
		if all {
			out = append(out, p)
		}
	}
	return out
}

// pageOf returns the page's slice of pubs and the number of pages.
func pageOf(pubs []*publication.Publication, page int) ([]*publication.Publication, int) {
	pages := max(1, (len(pubs)+perPage-1)/perPage)
	page = min(page, pages)
	start := (page - 1) * perPage
	return pubs[start:min(len(pubs), start+perPage)], pages
}
