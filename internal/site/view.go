package site

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/vigil-cert/vigil/internal/publication"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/site.css
var siteCSS []byte

// pageNames are the pages; each is layout.html with its own file's
// "content".
var pageNames = []string{"home", "list", "search", "detail", "notfound"}

// templates holds each page's parsed template.
type templates struct {
	byName map[string]*template.Template
}

func parseTemplates() (*templates, error) {
	base, err := template.New("layout.html").ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	t := &templates{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		clone, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := clone.ParseFS(templateFiles, "templates/"+name+".html"); err != nil {
			return nil, err
		}
		t.byName[name] = clone
	}
	return t, nil
}

// stylesheet returns the CSS and a short hash of it, which its URL
// carries so that a new version is fetched at once.
func stylesheet() ([]byte, string) {
	sum := sha256.Sum256(siteCSS)
	return siteCSS, hex.EncodeToString(sum[:6])
}

// stylesheetHandler serves /site.css.
func (s *Site) stylesheetHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("ETag", `"`+s.cssHash+`"`)
	if r.Header.Get("If-None-Match") == `"`+s.cssHash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(s.css)
}

// view is what every page's template gets: the chrome (language switch,
// navigation, feeds, links to the report form and the newsletter) and
// the page's own data in one of the fields after it.
type view struct {
	s        *Site
	Lang     string
	LangName string
	Name     string
	Title    string
	CSS      string
	Langs    []langLink
	Nav      []navLink
	Feeds    []feedLink
	Query    string
	// Report and Newsletter are the console's public pages.
	Report     string
	Newsletter string

	Pinned, Warnings, Advisories, News []item
	List                               *listView
	Detail                             *detailView
}

// T translates id into the page's language.
func (v *view) T(id string, args ...any) string { return v.s.cat.T(v.Lang, id, args...) }

// Plural is T for a count.
func (v *view) Plural(id string, n int) string { return v.s.cat.Plural(v.Lang, id, n) }

type langLink struct {
	Code, Name, URL string
	Current         bool
}

type navLink struct {
	Label, URL string
	Current    bool
}

type feedLink struct {
	Title, URL, Type, Format string
}

// newsletterURL is the newsletter's form in lang, or in its first
// language when it has none in lang; "" without a newsletter.
func (s *Site) newsletterURL(lang string) string {
	langs := s.deps.Newsletter
	if len(langs) == 0 {
		return ""
	}
	if !slices.Contains(langs, lang) {
		lang = langs[0]
	}
	return "/newsletter/" + lang
}

// newView builds the chrome of a page in lang whose path, below
// /{lang}, is here ("/advisories?severity=high"); current names the
// navigation entry to mark.
func (s *Site) newView(lang, here, current, title string) *view {
	v := &view{s: s, Lang: lang, LangName: s.langName(lang), Name: s.deps.Name, Title: title,
		CSS: "/site.css?v=" + s.cssHash, Report: "/report", Newsletter: s.newsletterURL(lang)}
	for _, l := range s.deps.Languages {
		v.Langs = append(v.Langs, langLink{Code: l, Name: s.langName(l), URL: "/" + l + here, Current: l == lang})
	}
	v.Nav = append(v.Nav, navLink{Label: v.T("site.nav.home"), URL: "/" + lang + "/", Current: current == "home"})
	for _, k := range publication.Kinds {
		name := kindPaths[k]
		v.Nav = append(v.Nav, navLink{Label: v.T("site.kinds." + string(k)), URL: "/" + lang + "/" + name, Current: current == name})
	}
	v.Feeds = []feedLink{
		{Title: v.T("site.feed.all", "RSS"), URL: "/" + lang + "/feed.rss", Type: rssType, Format: "RSS"},
		{Title: v.T("site.feed.all", "Atom"), URL: "/" + lang + "/feed.atom", Type: atomType, Format: "Atom"},
	}
	return v
}

// langName is a language's name for itself (Nederlands).
func (s *Site) langName(lang string) string { return s.cat.Text(lang, "language.name") }

// langIn is language code's name in a sentence in lang ("Engels" in
// Dutch, "anglais" in French).
func (s *Site) langIn(lang, code string) string { return s.cat.T(lang, "language.in."+code) }

// execute renders a page's template.
func (s *Site) execute(name string, v *view) []byte {
	var b bytes.Buffer
	if err := s.pages.byName[name].ExecuteTemplate(&b, "layout", v); err != nil {
		// The templates are tested on every page: an error here is a
		// bug, logged, and the reader gets what was written.
		s.log.Error("site: render", "page", name, "err", err)
	}
	return b.Bytes()
}

// item is one publication in a list, in the reader's language or, when
// it has none, in its primary language.
type item struct {
	Ident, URL, Title, Summary, Lang string
	Kind, KindLabel                  string
	Severity, SeverityLabel          string
	Date, DateTime                   string
	// Fallback is set when the text is not in the reader's language;
	// ReaderLang and FallbackNote say so in it.
	Fallback     bool
	ReaderLang   string
	FallbackNote string
}

// newItem makes p's list entry in lang.
func (s *Site) newItem(p *publication.Publication, lang string) item {
	text, ok := p.Text(lang)
	it := item{Ident: p.Ident, URL: "/" + lang + "/p/" + url.PathEscape(p.Ident), Title: text.Title, Summary: text.Summary,
		Lang: text.Lang, Kind: string(p.Kind), KindLabel: s.cat.T(lang, "site.kind."+string(p.Kind)),
		Severity: p.Severity, SeverityLabel: s.severityLabel(lang, p.Severity),
		Date: s.cat.Date(lang, p.Published), DateTime: p.Published.UTC().Format("2006-01-02T15:04:05Z"),
		ReaderLang: lang}
	if !ok && text.Lang != lang {
		it.Fallback = true
		it.FallbackNote = s.cat.T(lang, "site.fallback", s.langIn(lang, lang), s.langIn(lang, text.Lang))
	}
	return it
}

// severityLabel names a severity in lang: the catalogue's word for the
// default scale, the configured name otherwise.
func (s *Site) severityLabel(lang, severity string) string {
	if severity == "" {
		return ""
	}
	id := "site.severity." + severity
	if s.cat.Has(id) {
		return s.cat.T(lang, id)
	}
	return severity
}

func (s *Site) items(pubs []*publication.Publication, lang string) []item {
	out := make([]item, 0, len(pubs))
	for _, p := range pubs {
		out = append(out, s.newItem(p, lang))
	}
	return out
}

// renderHome renders the home page: the pinned warnings, then the
// latest warnings, advisories and news.
func (s *Site) renderHome(snap *snapshot, q request) []byte {
	v := s.newView(q.lang, "/", "home", s.cat.T(q.lang, "site.home.title"))
	v.Pinned = s.items(snap.pinned, q.lang)
	latest := func(kind publication.Kind, n int) []item {
		var pubs []*publication.Publication
		for _, p := range selectKind(snap, kind, filter{}) {
			if len(pubs) == n {
				break
			}
			if !(kind == publication.KindWarning && p.Pinned(snap.at)) {
				pubs = append(pubs, p)
			}
		}
		return s.items(pubs, q.lang)
	}
	v.Advisories = latest(publication.KindAdvisory, 5)
	v.Warnings = latest(publication.KindWarning, 3)
	v.News = latest(publication.KindNews, 5)
	return s.execute("home", v)
}

// listView is a list's or a search's page.
type listView struct {
	Action     string
	Items      []item
	Total      int
	Filter     filter
	Severities []option
	Page       int
	Pages      int
	Prev, Next string
	// FeedRSS and FeedAtom are the kind's feeds; empty for a search.
	FeedRSS, FeedAtom string
}

type option struct {
	Value, Label string
	Selected     bool
}

// newListView pages pubs and fills the filter form.
func (s *Site) newListView(lang, path string, pubs []*publication.Publication, f filter) *listView {
	shown, pages := pageOf(pubs, f.Page)
	l := &listView{Action: "/" + lang + "/" + path, Items: s.items(shown, lang), Total: len(pubs), Filter: f,
		Page: min(f.Page, pages), Pages: pages}
	for _, sev := range s.deps.Severities {
		l.Severities = append(l.Severities, option{Value: sev, Label: s.severityLabel(lang, sev), Selected: sev == f.Severity})
	}
	link := func(page int) string {
		g := f
		g.Page = page
		if enc := g.values(false).Encode(); enc != "" {
			return l.Action + "?" + enc
		}
		return l.Action
	}
	if l.Page > 1 {
		l.Prev = link(l.Page - 1)
	}
	if l.Page < pages {
		l.Next = link(l.Page + 1)
	}
	return l
}

// here is a list's path below /{lang} with its filters, for the
// language switch.
func here(path string, f filter) string {
	if enc := f.values(false).Encode(); enc != "" {
		return "/" + path + "?" + enc
	}
	return "/" + path
}

// renderList renders the list of one kind.
func (s *Site) renderList(snap *snapshot, q request) []byte {
	path := kindPaths[q.kind]
	v := s.newView(q.lang, here(path, q.filter), path, s.cat.T(q.lang, "site.kinds."+string(q.kind)))
	v.List = s.newListView(q.lang, path, selectKind(snap, q.kind, q.filter), q.filter)
	v.List.FeedRSS, v.List.FeedAtom = "/"+q.lang+"/"+path+".rss", "/"+q.lang+"/"+path+".atom"
	label := s.cat.T(q.lang, "site.kinds."+string(q.kind))
	v.Feeds = append(v.Feeds,
		feedLink{Title: s.cat.T(q.lang, "site.feed.kind", label, "RSS"), URL: v.List.FeedRSS, Type: rssType, Format: "RSS"},
		feedLink{Title: s.cat.T(q.lang, "site.feed.kind", label, "Atom"), URL: v.List.FeedAtom, Type: atomType, Format: "Atom"})
	return s.execute("list", v)
}

// renderSearch renders a search's results.
func (s *Site) renderSearch(snap *snapshot, q request) []byte {
	v := s.newView(q.lang, here("search", q.filter), "search", s.cat.T(q.lang, "site.search.title"))
	v.Query = q.filter.Query
	v.List = s.newListView(q.lang, "search", searchPubs(snap, q.filter), q.filter)
	return s.execute("search", v)
}

// renderNotFound renders the page for a path that holds nothing.
func (s *Site) renderNotFound(lang string) []byte {
	v := s.newView(lang, "/", "", s.cat.T(lang, "site.notfound.title"))
	return s.execute("notfound", v)
}

// versionRange writes a range of versions with symbols every language
// reads: 1.2.3, ≥ 1.0 < 1.4, ≤ 2.0.
func versionRange(r publication.VersionRange) string {
	if r.Version != "" {
		return r.Version
	}
	var parts []string
	if r.Introduced != "" && r.Introduced != "0" {
		parts = append(parts, "≥ "+r.Introduced)
	}
	if r.Fixed != "" {
		parts = append(parts, "< "+r.Fixed)
	}
	if r.LastAffected != "" {
		parts = append(parts, "≤ "+r.LastAffected)
	}
	if len(parts) == 0 {
		return "*"
	}
	return strings.Join(parts, " ")
}

// pagerView is the previous and next links of a paged list.
type pagerView struct {
	Pages                           int
	Prev, Next                      string
	Label, PrevText, NextText, Text string
}

// Pager builds the pager of l in the page's language.
func (v *view) Pager(l *listView) pagerView {
	return pagerView{Pages: l.Pages, Prev: l.Prev, Next: l.Next, Label: v.T("site.pager.label"),
		PrevText: v.T("site.pager.prev"), NextText: v.T("site.pager.next"), Text: v.T("site.pager.text", l.Page, l.Pages)}
}

// SeverityName names a CVSS rating (none, low, medium, high, critical)
// in the page's language.
func (v *view) SeverityName(rating string) string {
	return v.s.severityLabel(v.Lang, strings.ToLower(rating))
}
