package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// layoutFile wraps every page; each other file defines "content".
const layoutFile = "templates/layout.html"

// partialFiles define templates several pages include; they are no page.
var partialFiles = []string{"templates/eventtable.html", "templates/savedsearches.html", "templates/eventactions.html", "templates/reportfields.html"}

// pages holds each page's template set once per language, so that t is
// bound at start-up instead of cloning templates on every request.
type pages struct {
	byLang map[string]map[string]*template.Template
}

// pagesOf returns the pages parsed for cat: for the embedded catalogue,
// those parsed once for the process (embeddedPages).
func pagesOf(cat *i18n.Catalog) (*pages, error) {
	if cat == i18n.Embedded() {
		return embeddedPages()
	}
	return loadPages(cat)
}

// embeddedPages are the pages of the embedded catalogue, parsed on first
// use. Parsed templates are only executed, which they allow at once, so
// the consoles of a process share them: a process makes one console, but
// the tests make hundreds, and parsing them over took half their CPU.
var embeddedPages = sync.OnceValues(func() (*pages, error) { return loadPages(i18n.Embedded()) })

func loadPages(cat *i18n.Catalog) (*pages, error) {
	files, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byLang: make(map[string]map[string]*template.Template)}
	for _, lang := range cat.Languages() {
		set := make(map[string]*template.Template)
		for _, f := range files {
			if f == layoutFile || slices.Contains(partialFiles, f) {
				continue
			}
			name := strings.TrimSuffix(path.Base(f), ".html")
			t, err := template.New(name).Funcs(templateFuncs(cat, lang.Code)).ParseFS(templateFiles, append([]string{layoutFile, f}, partialFiles...)...)
			if err != nil {
				return nil, fmt.Errorf("template %s: %w", f, err)
			}
			set[name] = t
		}
		p.byLang[lang.Code] = set
	}
	return p, nil
}

// templateFuncs are the functions templates may call, bound to lang: t
// translates, tn picks the plural form for a count, num groups a number's
// digits, time and date write a moment in UTC with the language's layout,
// fieldTime reads an event's time field for time, duration writes a lag
// in the language's units, stored says a text kept in the database as a
// message (i18n.Decode) in the language, and any other as it is; label
// is t's text as a label before what it names, with the language's
// colon (French puts a no-break space before it); lastreason says why a
// feed's last run failed in the language (store.FeedStatus.LastReason).
func templateFuncs(cat *i18n.Catalog, lang string) template.FuncMap {
	return template.FuncMap{
		"t":          cat.Translator(lang),
		"label":      func(id string) string { return cat.T(lang, "label.colon", cat.Text(lang, id)) },
		"tn":         func(id string, n any, args ...any) string { return cat.Plural(lang, id, count(n), args...) },
		"num":        func(n any) string { return cat.Number(lang, count(n)) },
		"time":       func(tm time.Time) string { return cat.Time(lang, tm) },
		"date":       func(tm time.Time) string { return cat.Date(lang, tm) },
		"fieldTime":  fieldTime,
		"duration":   func(d time.Duration) string { return cat.Duration(lang, d) },
		"stored":     func(s string) string { return cat.Stored(lang, s) },
		"lastreason": func(f store.FeedStatus) string { return f.LastReason(cat, lang) },
		"add":        func(a, b int) int { return a + b },
		"mono":       mono,
		"excerpt":    excerpt,
	}
}

// fieldTime returns the moment an event field's value names when the field
// is a time (time.source, time.observation), nil otherwise, so that the
// event page writes it in the reader's layout.
func fieldTime(key, value string) *time.Time {
	if !strings.HasPrefix(key, "time.") {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return nil
	}
	return &t
}

// count converts the integer types page data uses for counts to int.
func count(n any) int {
	switch n := n.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case int32:
		return int(n)
	case uint32:
		return int(n)
	case uint64:
		return int(n)
	}
	panic(fmt.Sprintf("console: %T is not a count", n)) // a template bug, caught by the page tests
}

// view is what every page template receives.
type view struct {
	Title    string // message ID
	Lang     string
	SignedIn bool
	UserName string
	CSRF     string
	Nav      navigation
	Version  string
	Flash    string // message ID of a success notice
	Error    string // message ID of a problem with the form
	Data     any
}

// navigation says which menu entries the user's role may use.
type navigation struct {
	// Portal shows the constituent portal's menu instead of the team's.
	Portal bool
	Events bool
	Users  bool
	Audit  bool
	// Constituency and Notifications are the team's pages about the
	// organisations it serves.
	Constituency  bool
	Notifications bool
	// Incidents are the triage queue and the incidents.
	Incidents bool
	// Newsletter is the newsletter's subscribers page.
	Newsletter bool
	// Publications are the advisories, warnings and news; DraftPublications
	// shows the buttons that draft one from an incident or a search.
	Publications      bool
	DraftPublications bool
}

// render writes page with data, all or nothing: the template runs into a
// buffer so a failure half-way never leaves half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, v *visit, status int, page, title string, data any, flash, problem string) {
	set := c.pages.byLang[v.lang]
	if set == nil {
		set = c.pages.byLang[i18n.Source]
	}
	t := set[page]
	if t == nil {
		c.logger.Error("no such template", "page", page)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	vw := view{
		Title: title, Lang: v.lang, Version: c.version, Flash: flash, Error: problem, Data: data,
	}
	if v.signedIn() {
		vw.SignedIn = true
		vw.UserName = v.user.Name
		vw.CSRF = v.session.CSRFToken
		vw.Nav = navigation{
			Portal: v.user.Role == auth.RoleConstituent,
			Events: auth.Can(v.user.Role, auth.ReadEvents),
			Users:  auth.Can(v.user.Role, auth.ManageUsers),
			Audit:  auth.Can(v.user.Role, auth.ReadAudit),

			Constituency:  auth.Can(v.user.Role, auth.ReadConstituency),
			Notifications: auth.Can(v.user.Role, auth.ManageNotifications),
			Incidents:     auth.Can(v.user.Role, auth.ReadIncidents),
			Newsletter:    c.newsletter != nil && auth.Can(v.user.Role, auth.ManageSubscribers),

			Publications:      c.publications.Service != nil && auth.Can(v.user.Role, auth.ReadPublications),
			DraftPublications: c.publications.Service != nil && auth.Can(v.user.Role, auth.WritePublications),
		}
	} else {
		vw.CSRF = v.formToken
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", vw); err != nil {
		c.logger.Error("render", "page", page, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// problemPage is the data of the error page.
type problemPage struct {
	Heading string // message ID
	Message string // message ID
}

func (c *Console) problem(w http.ResponseWriter, r *http.Request, v *visit, status int, heading, message string) {
	c.render(w, r, v, status, "error", heading, problemPage{Heading: heading, Message: message}, "", "")
}

// fail logs err and shows a friendly page without its text.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	c.logger.Error("console request failed", "method", r.Method, "path", r.URL.Path, "user", v.user.Name, "err", err)
	c.problem(w, r, v, http.StatusInternalServerError, msgErrorHeading, msgErrorInternal)
}

func (c *Console) forbidden(w http.ResponseWriter, r *http.Request, v *visit) {
	c.problem(w, r, v, http.StatusForbidden, msgForbiddenHeading, msgForbiddenRole)
}

func (c *Console) forbiddenCSRF(w http.ResponseWriter, r *http.Request, v *visit) {
	c.problem(w, r, v, http.StatusForbidden, msgForbiddenHeading, msgForbiddenCSRF)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request, v *visit) {
	c.problem(w, r, v, http.StatusNotFound, msgNotFoundHeading, msgNotFound)
}

// flashes are the success notices a redirect may name in ?done=; only
// these IDs can be shown, so the parameter cannot inject text.
var flashes = map[string]string{
	"password": msgDonePassword,
	"language": msgDoneLanguage,
	"totp-on":  msgDoneTOTPOn,
	"totp-off": msgDoneTOTPOff,
	"token":    msgDoneTokenDeleted,
	"user":     msgDoneUser,
	"retry":    msgDoneRetry,
	"request":  msgDoneRequest,

	"organisation":         msgDoneOrganisation,
	"organisation-deleted": msgDoneOrganisationDeleted,
	"policy":               msgDonePolicy,
	"policy-default":       msgDonePolicyDefault,
	"request-done":         msgDoneRequestHandled,
	"import":               msgDoneImport,
	"template":             msgDoneTemplate,
	"template-reverted":    msgDoneTemplateReverted,
	"identity":             msgDoneIdentity,

	"user-deleted":          msgDoneUserDeleted,
	"organisation-disabled": msgDoneOrganisationDisabled,
	"organisation-enabled":  msgDoneOrganisationEnabled,
	"saved":                 msgDoneSaved,
	"saved-changed":         msgDoneSavedChanged,
	"saved-deleted":         msgDoneSavedDeleted,
}

func flashOf(r *http.Request) string { return flashes[r.URL.Query().Get("done")] }

// redirectDone answers a successful post with a redirect to a page that
// shows the named notice (post, redirect, get: reloading does not repost).
func redirectDone(w http.ResponseWriter, r *http.Request, to, done string) {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	http.Redirect(w, r, to+sep+"done="+url.QueryEscape(done), http.StatusSeeOther)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// safeNext returns a local path to continue to after login, "/" for
// anything that could leave the site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded directory exists at compile time
	}
	files := http.FileServerFS(sub)
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Static files change only with the binary; a day's caching is safe
		// because the layout links them with the version as a query.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	}))
}

// can reports whether the visitor's role has permission p, for pages that
// show some parts only to some roles.
func (v *visit) can(p auth.Permission) bool { return auth.Can(v.user.Role, p) }

// tr translates message id with args into the visitor's language, for
// texts made in Go rather than in templates.
func (c *Console) tr(v *visit, id string, args ...any) string {
	return c.catalog.T(v.lang, id, args...)
}
