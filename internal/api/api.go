// Package api is Vigil's JSON REST API (mounted at /api/v1): event search and
// export, dead letters, feed status, "who owns this?", organisations,
// notifications, users and saved searches, for the team's scripts and
// constituents' tools, authenticated by bearer tokens and described by the
// OpenAPI document it serves.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/export"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/publication"
)

// Deps are what the API needs from the rest of Vigil.
type Deps struct {
	Store  Store
	Logger *slog.Logger
	// Retry re-runs the dead letters with these ids through their parsers
	// and tells what became of each pending one (pipeline.Runner's
	// RetryDeadLettersReport). Nil means this process cannot re-run them:
	// POST /deadletters/retry answers 501.
	Retry func(ctx context.Context, ids []int64) ([]pipeline.RetryResult, error)
	// Version is the Vigil version, shown in the OpenAPI document.
	Version string
	// Directory is the constituency table the pipeline tags events with;
	// GET /owners asks it, so that it answers what the pipeline does. Nil:
	// each lookup builds a table from the store.
	Directory *constituency.Directory
	// ConstituencyChanged is called after every change to organisations
	// made through the API, so that the pipeline's table is rebuilt at
	// once. Nil: Directory.Reload is called when there is a Directory.
	ConstituencyChanged func(ctx context.Context)
	// Notifier previews and saves notification templates and takes a new
	// team key (the running *notify.Notifier, as the console's). Nil: the
	// routes that need it answer 501.
	Notifier Notifier
	// Feeds adds, changes, pauses, resumes and runs feeds, as the
	// console does; nil: the feed routes that change feeds answer 501.
	Feeds *config.FeedManager
	// MailFrom is the sender of the mails written from incidents
	// (notify.from); empty: POST /incidents/{tag}/mail is refused.
	MailFrom string
	// Publications serves /publications; nil: those routes answer 501.
	Publications *publication.Service
	// Products keeps the organisations' declared products
	// (/organisations/{id}/products, /constituent/products); nil: those
	// routes answer 501.
	Products ProductDeclarations
}

// handler serves the API; it holds no state between requests except the
// rendered OpenAPI document.
type handler struct {
	store   Store
	log     *slog.Logger
	retry   func(ctx context.Context, ids []int64) ([]pipeline.RetryResult, error)
	openapi []byte
	feeds   *config.FeedManager

	directory           *constituency.Directory
	constituencyChanged func(ctx context.Context)
	notifier            Notifier
	mailFrom            string
	publications        *publication.Service
	products            ProductDeclarations
	// exportPageSize is how many events a CSV or JSON lines export reads
	// from the store at a time; tests make it small to cross pages.
	exportPageSize int
}

// route is one operation of the API. The routes table below is the single
// list both the mux and the OpenAPI test read.
type route struct {
	method string
	// path is relative to /api/v1, in http.ServeMux and OpenAPI form alike.
	path string
	// roles may call the route; nil means no authentication at all.
	roles  []auth.Role
	handle func(h *handler, r *http.Request, c *caller) (any, error)
}

var (
	readers = []auth.Role{auth.RoleAdmin, auth.RoleAnalyst}
	anyone  = []auth.Role{auth.RoleAdmin, auth.RoleAnalyst, auth.RolePublisher, auth.RoleConstituent}

	// The team routes hold the roles the console's pages of the same
	// permission do, from the same rule (auth.Can).
	constituencyReaders  = allowed(auth.ReadConstituency)
	constituencyManagers = allowed(auth.ManageConstituency)
	notificationManagers = allowed(auth.ManageNotifications)
	userManagers         = allowed(auth.ManageUsers)
	auditReaders         = allowed(auth.ReadAudit)
	teamKeyManagers      = allowed(auth.ManageTeamKey)
	// Re-running, correcting and discarding dead letters, as the
	// console's dead-letter pages allow.
	retriers = allowed(auth.RetryDeadLetters)
)

// allowed lists the roles with permission p.
func allowed(p auth.Permission) []auth.Role {
	var roles []auth.Role
	for _, r := range anyone {
		if auth.Can(r, p) {
			roles = append(roles, r)
		}
	}
	return roles
}

// routes are all the operations. Handlers return data to render as JSON (or
// a *download) or an error for writeError.
var routes = []route{
	{"GET", "/events", readers, (*handler).searchEvents},
	{"GET", "/events/{hash}", readers, (*handler).getEvent},
	{"GET", "/deadletters", readers, (*handler).listDeadLetters},
	{"POST", "/deadletters/retry", retriers, (*handler).retryDeadLetters},
	{"POST", "/deadletters/discard", retriers, (*handler).discardDeadLetters},
	{"GET", "/deadletters/{id}", readers, (*handler).getDeadLetter},
	{"POST", "/deadletters/{id}/edit", retriers, (*handler).editDeadLetter},
	{"GET", "/feeds", readers, (*handler).listFeeds},
	{"POST", "/feeds", feedManagers, (*handler).createFeed},
	{"GET", "/feeds/{name}", readers, (*handler).getFeed},
	{"PUT", "/feeds/{name}", feedManagers, (*handler).updateFeed},
	{"DELETE", "/feeds/{name}/override", feedManagers, (*handler).deleteFeedOverride},
	{"POST", "/feeds/{name}/run", feedManagers, (*handler).runFeed},
	{"POST", "/feeds/{name}/pause", feedManagers, (*handler).pauseFeed},
	{"POST", "/feeds/{name}/resume", feedManagers, (*handler).resumeFeed},
	{"GET", "/owners", constituencyReaders, (*handler).owners},
	{"GET", "/organisations", constituencyReaders, (*handler).listOrganisations},
	{"POST", "/organisations", constituencyManagers, (*handler).createOrganisation},
	{"GET", "/organisations/{id}", constituencyReaders, (*handler).getOrganisation},
	{"PUT", "/organisations/{id}", constituencyManagers, (*handler).updateOrganisation},
	{"DELETE", "/organisations/{id}", constituencyManagers, (*handler).deleteOrganisation},
	// Disabling locks the organisation's accounts out: administrators only.
	{"POST", "/organisations/{id}/disable", userManagers, setOrganisationDisabled(true)},
	{"POST", "/organisations/{id}/enable", userManagers, setOrganisationDisabled(false)},
	{"GET", "/organisations/{id}/policy", notificationManagers, (*handler).getOrganisationPolicy},
	{"PUT", "/organisations/{id}/policy", notificationManagers, (*handler).putOrganisationPolicy},
	{"DELETE", "/organisations/{id}/policy", notificationManagers, (*handler).deleteOrganisationPolicy},
	{"GET", "/organisations/{id}/products", constituencyReaders, (*handler).organisationProducts},
	{"PUT", "/organisations/{id}/products", constituencyManagers, (*handler).replaceOrganisationProducts},
	{"POST", "/organisations/{id}/products", constituencyManagers, (*handler).addOrganisationProduct},
	{"DELETE", "/organisations/{id}/products/{declaration}", constituencyManagers, (*handler).deleteOrganisationProduct},
	{"GET", "/changerequests", constituencyReaders, (*handler).listChangeRequests},
	{"POST", "/changerequests/{id}/done", constituencyManagers, (*handler).markChangeRequestDone},
	{"GET", "/constituency/export", constituencyReaders, (*handler).exportConstituency},
	{"POST", "/constituency/import", constituencyManagers, (*handler).importConstituency},
	{"GET", "/notifications", notificationManagers, (*handler).listNotifications},
	{"GET", "/notifications/policy", notificationManagers, (*handler).getTeamPolicy},
	{"PUT", "/notifications/policy", notificationManagers, (*handler).putTeamPolicy},
	{"DELETE", "/notifications/policy", notificationManagers, (*handler).deleteTeamPolicy},
	{"GET", "/notifications/templates", notificationManagers, (*handler).listTemplates},
	{"GET", "/notifications/templates/{language}/{name}", notificationManagers, (*handler).getTemplate},
	{"PUT", "/notifications/templates/{language}/{name}", notificationManagers, (*handler).putTemplate},
	{"DELETE", "/notifications/templates/{language}/{name}", notificationManagers, (*handler).deleteTemplate},
	{"POST", "/notifications/templates/{language}/{name}/preview", notificationManagers, (*handler).previewTemplate},
	{"GET", "/teamkey", teamKeyManagers, (*handler).getTeamKey},
	{"POST", "/teamkey/generate", teamKeyManagers, (*handler).generateTeamKey},
	{"POST", "/teamkey/import", teamKeyManagers, (*handler).importTeamKey},
	{"GET", "/audit", auditReaders, (*handler).listAudit},
	{"POST", "/notifications/{id}/resend", notificationManagers, (*handler).resendNotification},
	{"POST", "/events/notify", notificationManagers, (*handler).notifyEventsNow},
	{"POST", "/events/false-positive", incidentHandlers, (*handler).markFalsePositives},
	{"DELETE", "/events/false-positive", incidentHandlers, (*handler).unmarkFalsePositives},
	{"GET", "/false-positives", readers, (*handler).listFalsePositives},
	{"GET", "/users", userManagers, (*handler).listUsers},
	{"POST", "/users", userManagers, (*handler).createUser},
	{"GET", "/users/{id}", userManagers, (*handler).getUser},
	{"PATCH", "/users/{id}", userManagers, (*handler).updateUser},
	{"DELETE", "/users/{id}", userManagers, (*handler).deleteUser},
	{"GET", "/saved-searches", readers, (*handler).listSavedSearches},
	{"POST", "/saved-searches", readers, (*handler).createSavedSearch},
	{"GET", "/saved-searches/{id}", readers, (*handler).getSavedSearch},
	{"DELETE", "/saved-searches/{id}", readers, (*handler).deleteSavedSearch},
	{"GET", "/saved-searches/{id}/events", readers, (*handler).savedSearchEvents},
	{"GET", "/reports", incidentReaders, (*handler).listReports},
	{"POST", "/reports", incidentHandlers, (*handler).createReport},
	{"POST", "/reports/close", incidentHandlers, (*handler).closeReports},
	{"GET", "/reports/{id}", incidentReaders, (*handler).getReport},
	{"GET", "/incidents", incidentReaders, (*handler).listIncidents},
	{"POST", "/incidents", incidentHandlers, (*handler).createIncident},
	{"GET", "/incidents/{tag}", incidentReaders, (*handler).getIncident},
	{"GET", "/incidents/{tag}/observables", incidentReaders, (*handler).incidentObservables},
	{"PATCH", "/incidents/{tag}", incidentHandlers, (*handler).updateIncident},
	{"POST", "/incidents/{tag}/transition", incidentHandlers, (*handler).transitionIncident},
	{"POST", "/incidents/{tag}/tasks", incidentHandlers, (*handler).addIncidentTasks},
	{"POST", "/incidents/{tag}/tasks/{id}/done", incidentHandlers, (*handler).completeIncidentTask},
	{"POST", "/incidents/{tag}/notes", incidentHandlers, (*handler).addIncidentNote},
	{"POST", "/incidents/{tag}/mail", incidentHandlers, (*handler).sendIncidentMail},
	{"POST", "/incidents/{tag}/merge", incidentHandlers, (*handler).mergeIncidents},
	{"POST", "/incidents/{tag}/reports", incidentHandlers, (*handler).linkIncidentReports},
	{"GET", "/incidents/{tag}/attachments/{sha256}", incidentReaders, (*handler).getIncidentAttachment},
	{"GET", "/incidents/{tag}/events", incidentReaders, (*handler).listIncidentEvents},
	{"POST", "/incidents/{tag}/events", incidentHandlers, (*handler).addIncidentEvents},
	{"GET", "/constituent/events", constituents, (*handler).constituentEvents},
	{"GET", "/constituent/events/{hash}", constituents, (*handler).constituentEvent},
	{"GET", "/constituent/organisation", constituents, (*handler).constituentOrganisation},
	{"GET", "/constituent/notifications", constituents, (*handler).constituentNotifications},
	{"GET", "/constituent/incidents", constituents, (*handler).constituentIncidents},
	{"GET", "/constituent/incidents/{tag}", constituents, (*handler).constituentIncident},
	{"GET", "/constituent/reports", constituents, (*handler).constituentReports},
	{"POST", "/constituent/reports", constituents, (*handler).createConstituentReport},
	{"GET", "/constituent/products", constituents, (*handler).constituentProducts},
	{"PUT", "/constituent/products", constituents, (*handler).replaceConstituentProducts},
	{"POST", "/constituent/products", constituents, (*handler).addConstituentProduct},
	{"DELETE", "/constituent/products/{id}", constituents, (*handler).deleteConstituentProduct},
	{"GET", "/me", anyone, (*handler).me},
	{"GET", "/publications", nil, (*handler).listPublications},
	{"POST", "/publications", publicationWriters, (*handler).createPublication},
	{"GET", "/publications/{ident}", nil, (*handler).getPublication},
	{"PATCH", "/publications/{ident}", publicationWriters, (*handler).updatePublication},
	{"POST", "/publications/{ident}/{action}", publicationWriters, (*handler).publicationAction},
	{"GET", "/openapi.json", nil, (*handler).openAPI},
}

// otherMethods are the methods a known path answers with 405 when no
// route takes them.
var otherMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}

// New returns the API handler. Its routes are relative to /api/v1; mount it
// with http.StripPrefix("/api/v1", api.New(deps)).
func New(deps Deps) http.Handler {
	return newHandler(deps).mux()
}

func newHandler(deps Deps) *handler {
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &handler{
		store:          deps.Store,
		log:            log,
		retry:          deps.Retry,
		feeds:          deps.Feeds,
		openapi:        openAPIDocument(deps.Version),
		exportPageSize: export.DefaultPageSize,

		directory:           deps.Directory,
		constituencyChanged: deps.ConstituencyChanged,
		notifier:            deps.Notifier,
		mailFrom:            deps.MailFrom,
		publications:        deps.Publications,
		products:            deps.Products,
	}
}

// mux registers the routes table, and JSON answers for everything else.
func (h *handler) mux() *http.ServeMux {
	mux := http.NewServeMux()
	methods := make(map[string][]string)
	for _, rt := range routes {
		mux.Handle(rt.method+" "+rt.path, h.serve(rt))
		methods[rt.path] = append(methods[rt.path], rt.method)
	}
	// A known path with another method gets a JSON 405 rather than the
	// mux's plain-text one. Each other method is registered on its own:
	// a method-less pattern for /deadletters/retry would clash with
	// GET /deadletters/{id}, which is less specific in path but not in
	// method.
	for path, allowed := range methods {
		if slices.Contains(allowed, "GET") {
			allowed = append(allowed, "HEAD")
		}
		allow := strings.Join(allowed, ", ")
		notAllowed := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			h.writeError(w, r, errorText(http.StatusMethodNotAllowed, "method_not_allowed", "",
				i18n.M("api.error.method", r.Method, allow)))
		}
		for _, m := range otherMethods {
			if !slices.Contains(allowed, m) {
				mux.HandleFunc(m+" "+path, notAllowed)
			}
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.path")))
	})
	return mux
}

// serve authenticates and authorises the caller, runs the route's handler
// and renders its result.
func (h *handler) serve(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c *caller
		if rt.roles != nil {
			var err error
			if c, err = h.authenticate(r); err != nil {
				h.writeError(w, r, err)
				return
			}
			if !slices.Contains(rt.roles, c.user.Role) {
				h.writeError(w, r, errorText(http.StatusForbidden, "forbidden", "",
					i18n.M("api.error.forbidden", string(c.user.Role), rt.method+" "+rt.path)))
				return
			}
		}
		data, err := rt.handle(h, r, c)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		h.render(w, r, data)
	})
}
