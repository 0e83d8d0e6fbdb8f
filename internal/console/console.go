// Package console is the analysts' web console: server-rendered pages for
// login, event search, dead letters, feeds, users, the audit log, each
// person's account, the constituency and its notifications, with
// sessions, CSRF tokens and role checks from internal/auth and messages
// from internal/i18n.
package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/store"
)

// Config wires the console to the rest of Vigil.
type Config struct {
	Store   Store
	Logger  *slog.Logger
	Catalog *i18n.Catalog
	// Retry re-runs dead letters; nil hides the re-run button.
	Retry func(ctx context.Context, ids []int64) (int, error)
	// FeedNames lists configured feeds, shown before their first run.
	FeedNames func() []string
	// Feeds lets administrators manage the feeds; nil shows the feeds'
	// statistics only.
	Feeds    *config.FeedManager
	Version  string
	Sessions auth.SessionConfig
	// Limiter counts login failures; nil means auth.DefaultLimiter.
	Limiter *auth.Limiter
	// Issuer names Vigil in authenticator apps (default "Vigil").
	Issuer string

	// Directory is the constituency table the pipeline tags events with;
	// the "who owns this?" box asks it, so that it answers what the
	// pipeline does. Nil: lookups build a table from the store each time.
	Directory *constituency.Directory
	// ConstituencyChanged is called after every change to organisations
	// made in the console, so that the pipeline's table is rebuilt at
	// once. Nil: Directory.Reload is called when there is a Directory.
	ConstituencyChanged func(ctx context.Context)
	// Notifier previews and saves notification templates and takes a new
	// team key: the running *notify.Notifier, which `vigil serve` builds
	// whether or not notifications are enabled. It is required; where
	// nothing sends, one made with notify.New and notify.DefaultConfig
	// serves previews and saves, and a new team key reaches a sending
	// notifier elsewhere when it next reads IdentityStateKey.
	Notifier Notifier
	// ReportForm configures the public report form (/report).
	ReportForm ReportForm
	// Newsletter serves the newsletter's public pages (/newsletter/…)
	// and its subscribers page; nil serves neither.
	Newsletter *newsletter.Service
	// Publications configures the publication pages; without a Service
	// there are none.
	Publications PublicationPages
	// Products serves the constituents' declared products and the
	// advisories that concern them (the portal's products and
	// advisories pages); zero: those pages say they are not configured.
	Products ProductPages
}

// Console is the console's http.Handler.
type Console struct {
	store     Store
	logger    *slog.Logger
	catalog   *i18n.Catalog
	retry     func(ctx context.Context, ids []int64) (int, error)
	feedNames func() []string
	// feedManager is nil when the feeds are not managed here.
	feedManager *config.FeedManager
	version     string
	issuer      string
	sessions    *auth.Sessions
	logins      *auth.Logins
	pending     *auth.PendingLogins
	pages       *pages
	mux         *http.ServeMux
	now         func() time.Time

	directory           *constituency.Directory
	constituencyChanged func(ctx context.Context)
	notifier            Notifier
	imports             *pendingImports
	// reports is the public report form; nil serves none.
	reports *reportForm
	// newsletter is the newsletter's pages; nil serves none.
	newsletter *newsletterPages
	// publications configures the publication pages.
	publications PublicationPages
	// products are the declarations' and the advisories' stores.
	products ProductPages
}

// New builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.Store == nil {
		return nil, errors.New("console: no store")
	}
	if n, ok := cfg.Notifier.(*notify.Notifier); cfg.Notifier == nil || ok && n == nil {
		return nil, errors.New("console: no notifier (give it a *notify.Notifier, made with notify.New)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Catalog == nil {
		cfg.Catalog = i18n.Embedded()
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "Vigil"
	}
	logins, err := auth.NewLogins(cfg.Store, cfg.Limiter, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	p, err := pagesOf(cfg.Catalog)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	c := &Console{
		store:       cfg.Store,
		logger:      cfg.Logger,
		catalog:     cfg.Catalog,
		retry:       cfg.Retry,
		feedNames:   cfg.FeedNames,
		feedManager: cfg.Feeds,
		version:     cfg.Version,
		issuer:      cfg.Issuer,
		sessions:    auth.NewSessions(cfg.Store, cfg.Sessions, cfg.Logger),
		logins:      logins,
		pending:     auth.NewPendingLogins(0),
		pages:       p,
		now:         time.Now,

		directory:           cfg.Directory,
		constituencyChanged: cfg.ConstituencyChanged,
		notifier:            cfg.Notifier,
		imports:             newPendingImports(),
		newsletter:          newNewsletterPages(cfg.Newsletter),
		publications:        cfg.Publications,
		products:            cfg.Products,
	}
	if c.reports, err = newReportForm(cfg.ReportForm, cfg.Store); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	m := http.NewServeMux()
	m.Handle("GET /static/", staticHandler())

	m.HandleFunc("GET /login", c.anonymous(c.loginForm))
	m.HandleFunc("POST /login", c.anonymousPost(c.login))
	m.HandleFunc("POST /login/totp", c.anonymousPost(c.loginTOTP))
	m.HandleFunc("GET /setup", c.anonymous(c.setupForm))
	m.HandleFunc("POST /setup", c.anonymousPost(c.setup))

	m.HandleFunc("POST /logout", c.member(0, c.logout))
	m.HandleFunc("GET /{$}", c.member(0, c.home))

	m.HandleFunc("GET /events", c.member(auth.ReadEvents, c.events))
	m.HandleFunc("GET /events/export.csv", c.member(auth.ReadEvents, c.exportCSV))
	m.HandleFunc("GET /events/export.jsonl", c.member(auth.ReadEvents, c.exportJSONLines))
	m.HandleFunc("GET /events/{hash}", c.member(auth.ReadEvents, c.eventDetail))
	c.eventIncidentRoutes(m)
	m.HandleFunc("POST /events/columns", c.member(auth.ReadEvents, c.eventColumns))
	m.HandleFunc("POST /events/saved", c.member(auth.ReadEvents, c.teamSaved(c.saveSearch)))
	m.HandleFunc("POST /events/saved/{id}", c.member(auth.ReadEvents, c.teamSaved(c.changeSavedSearch)))
	m.HandleFunc("POST /events/saved/{id}/delete", c.member(auth.ReadEvents, c.teamSaved(c.deleteSavedSearch)))

	m.HandleFunc("GET /deadletters", c.member(auth.ReadEvents, c.deadLetters))
	m.HandleFunc("POST /deadletters/retry", c.member(auth.RetryDeadLetters, c.retryDeadLetters))
	m.HandleFunc("POST /deadletters/retry-feed", c.member(auth.RetryDeadLetters, c.retryFeed))
	m.HandleFunc("POST /deadletters/discard", c.member(auth.RetryDeadLetters, c.discardDeadLetters))
	m.HandleFunc("GET /deadletters/{id}", c.member(auth.ReadEvents, c.deadLetter))
	m.HandleFunc("POST /deadletters/{id}/edit", c.member(auth.RetryDeadLetters, c.editDeadLetter))
	m.HandleFunc("GET /feeds", c.member(auth.ReadEvents, c.feeds))
	c.feedAdminRoutes(m)

	m.HandleFunc("GET /users", c.member(auth.ManageUsers, c.users))
	m.HandleFunc("POST /users", c.member(auth.ManageUsers, c.createUser))
	m.HandleFunc("POST /users/{id}", c.member(auth.ManageUsers, c.changeUser))
	m.HandleFunc("POST /users/{id}/delete", c.member(auth.ManageUsers, c.deleteUser))
	m.HandleFunc("GET /audit", c.member(auth.ReadAudit, c.auditLog))

	m.HandleFunc("GET /account", c.member(0, c.account))
	m.HandleFunc("POST /account/language", c.member(0, c.setLanguage))
	m.HandleFunc("POST /account/password", c.member(0, c.changePassword))
	m.HandleFunc("POST /account/totp", c.member(0, c.startTOTP))
	m.HandleFunc("POST /account/totp/confirm", c.member(0, c.confirmTOTP))
	m.HandleFunc("POST /account/totp/disable", c.member(0, c.disableTOTP))
	m.HandleFunc("POST /account/totp/recovery", c.member(0, c.newRecoveryCodes))
	m.HandleFunc("POST /account/tokens", c.member(0, c.createToken))
	m.HandleFunc("POST /account/tokens/{id}/delete", c.member(0, c.deleteToken))

	c.portalRoutes(m)
	c.throttleRoutes(m)
	c.reportRoutes(m)
	c.incidentRoutes(m)
	c.eventActionRoutes(m)
	c.newsletterRoutes(m)
	c.publicationRoutes(m)

	// The constituency and its notifications, for the team.
	m.HandleFunc("GET /constituency", c.member(auth.ReadConstituency, c.constituencyList))
	m.HandleFunc("GET /constituency/new", c.member(auth.ManageConstituency, c.newOrganisationForm))
	m.HandleFunc("POST /constituency/new", c.member(auth.ManageConstituency, c.createOrganisation))
	m.HandleFunc("GET /constituency/export.csv", c.member(auth.ReadConstituency, c.exportConstituency("csv")))
	m.HandleFunc("GET /constituency/export.json", c.member(auth.ReadConstituency, c.exportConstituency("json")))
	m.HandleFunc("GET /constituency/import", c.member(auth.ManageConstituency, c.importForm))
	m.HandleFunc("POST /constituency/import", c.memberUpTo(auth.ManageConstituency, maxImportBytes, c.importConstituency))
	m.HandleFunc("GET /constituency/requests", c.member(auth.ReadConstituency, c.changeRequests))
	m.HandleFunc("POST /constituency/requests/{id}/done", c.member(auth.ManageConstituency, c.markRequestDone))
	m.HandleFunc("GET /constituency/{id}", c.member(auth.ReadConstituency, c.organisationPage))
	m.HandleFunc("POST /constituency/{id}", c.member(auth.ManageConstituency, c.updateOrganisation))
	m.HandleFunc("GET /constituency/{id}/edit", c.member(auth.ManageConstituency, c.editOrganisationForm))
	m.HandleFunc("GET /constituency/{id}/delete", c.member(auth.ManageConstituency, c.deleteOrganisationForm))
	m.HandleFunc("POST /constituency/{id}/delete", c.member(auth.ManageConstituency, c.deleteOrganisation))
	// Disabling an organisation locks its accounts out of the portal,
	// which is account administration: administrators only.
	m.HandleFunc("POST /constituency/{id}/disable", c.member(auth.ManageUsers, c.setOrganisationDisabled(true)))
	m.HandleFunc("POST /constituency/{id}/enable", c.member(auth.ManageUsers, c.setOrganisationDisabled(false)))
	m.HandleFunc("GET /constituency/{id}/policy", c.member(auth.ManageNotifications, c.organisationPolicyForm))
	m.HandleFunc("POST /constituency/{id}/policy", c.member(auth.ManageNotifications, c.saveOrganisationPolicy))
	m.HandleFunc("GET /notifications", c.member(auth.ManageNotifications, c.notificationLog))
	m.HandleFunc("GET /notifications/settings", c.member(auth.ManageNotifications, c.notificationSettings))
	m.HandleFunc("GET /notifications/policy", c.member(auth.ManageNotifications, c.defaultPolicyForm))
	m.HandleFunc("POST /notifications/policy", c.member(auth.ManageNotifications, c.saveDefaultPolicy))
	m.HandleFunc("GET /notifications/templates/{lang}/{name...}", c.member(auth.ManageNotifications, c.templateEditor))
	m.HandleFunc("POST /notifications/templates/{lang}/{name...}", c.member(auth.ManageNotifications, c.changeTemplate))
	m.HandleFunc("GET /notifications/identity", c.member(auth.ManageTeamKey, c.teamKey))
	m.HandleFunc("GET /notifications/identity/public.asc", c.member(auth.ManageTeamKey, c.teamPublicKey))
	m.HandleFunc("POST /notifications/identity/generate", c.member(auth.ManageTeamKey, c.generateTeamKey))
	m.HandleFunc("POST /notifications/identity/import", c.member(auth.ManageTeamKey, c.importTeamKey))

	m.HandleFunc("/", c.anonymous(c.notFound))
	c.mux = m
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// visit is what a handler knows about the request's person.
type visit struct {
	user    auth.User // zero for anonymous pages
	session auth.Session
	lang    string
	// formToken is the CSRF token for anonymous forms.
	formToken string
}

func (v *visit) signedIn() bool { return v.user.ID != 0 }

type handler func(w http.ResponseWriter, r *http.Request, v *visit)

// anonymous serves a page open to everyone, in the browser's language, or
// the user's when someone is signed in.
func (c *Console) anonymous(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &visit{lang: c.catalog.Match(r.Header.Get("Accept-Language"))}
		if s, err := c.sessions.Load(r.Context(), r); err == nil {
			if u, err := c.store.GetUser(r.Context(), s.UserID); err == nil && !u.Disabled {
				v.user, v.session = u, s
				if c.catalog.Supported(u.Language) {
					v.lang = u.Language
				}
			}
		}
		tok, err := c.sessions.FormToken(w, r)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		v.formToken = tok
		h(w, r, v)
	}
}

// anonymousPost is anonymous for form posts made before login: the form
// token (double-submit cookie) must match.
func (c *Console) anonymousPost(h handler) http.HandlerFunc {
	return c.anonymous(func(w http.ResponseWriter, r *http.Request, v *visit) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if !c.sessions.CheckFormToken(r, r.PostFormValue("csrf")) {
			c.forbiddenCSRF(w, r, v)
			return
		}
		h(w, r, v)
	})
}

// maxFormBytes bounds form bodies; no console form is anywhere near it.
const maxFormBytes = 1 << 20

// member serves a page for signed-in users holding permission p (0: any
// signed-in user). Posts must carry the session's CSRF token.
func (c *Console) member(p auth.Permission, h handler) http.HandlerFunc {
	return c.memberUpTo(p, maxFormBytes, h)
}

// memberUpTo is member for a form whose body may be up to maxBody bytes:
// file uploads need more than maxFormBytes, and only their routes get it.
func (c *Console) memberUpTo(p auth.Permission, maxBody int64, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &visit{lang: c.catalog.Match(r.Header.Get("Accept-Language"))}
		s, err := c.sessions.Load(r.Context(), r)
		if err != nil {
			if !errors.Is(err, auth.ErrNoSession) {
				c.fail(w, r, v, err)
				return
			}
			c.toLogin(w, r, v)
			return
		}
		u, err := c.store.GetUser(r.Context(), s.UserID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
			_ = c.sessions.Destroy(r.Context(), w, r)
			c.toLogin(w, r, v)
			return
		}
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		v.user, v.session = u, s
		if c.catalog.Supported(u.Language) {
			v.lang = u.Language
		}
		if !c.organisationAllowsSession(w, r, v) {
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			if tooLarge(parseBody(r)) {
				c.problem(w, r, v, http.StatusRequestEntityTooLarge, msgErrorHeading, msgFormTooLarge)
				return
			}
			if !auth.CheckCSRF(s, r.PostFormValue("csrf")) {
				c.forbiddenCSRF(w, r, v)
				return
			}
		}
		if p != 0 && !auth.Can(u.Role, p) {
			c.forbidden(w, r, v)
			return
		}
		h(w, r, v)
	}
}

// parseBody reads a posted form, multipart or not. PostFormValue does it
// too, but drops the error, and an upload over the limit must not look
// like a missing CSRF token.
func parseBody(r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		return r.ParseMultipartForm(maxFormMemory)
	}
	return r.ParseForm()
}

// maxFormMemory is how much of a multipart form is kept in memory; the
// rest of an upload goes to a temporary file.
const maxFormMemory = 16 << 20

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// toLogin sends a visitor without a session to the login page, back to
// where they were going afterwards. Posts without a session are refused:
// replaying them after login would surprise.
func (c *Console) toLogin(w http.ResponseWriter, r *http.Request, v *visit) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.forbiddenCSRF(w, r, v)
		return
	}
	http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// audit records a write by the visitor; a failure is logged, not shown:
// the write itself already happened.
func (c *Console) audit(ctx context.Context, v *visit, action, target, detail string) {
	e := auth.AuditEntry{UserID: v.user.ID, Actor: v.user.Name, Action: action, Target: target, Detail: detail}
	if err := auth.Record(ctx, c.store, e); err != nil {
		c.logger.Error("audit", "action", action, "err", err)
	}
}

var _ http.Handler = (*Console)(nil)
