package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// The constituent portal (n6-style): users of one constituent organisation
// see that organisation's events, the notifications sent to it and its own
// record, under /portal/. It is its own handler tree beside the analysts'
// pages, sharing only sign-in and the account page.
//
// Isolation rests on one rule: every portal handler receives the
// organisation of the signed-in user, resolved here from the user record,
// never from the request, and every query it makes is bounded by it: its
// events through constituency.EventsOf (the index of events by organisation, and
// each event without what notifications withhold), its messages and change
// requests by its ID. Nothing in a URL or a form can name another one, and
// portal_isolation_test.go fails when a portal handler reads the events
// from the store itself.

func (c *Console) portalRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /portal/{$}", c.constituent(c.portalEvents))
	m.HandleFunc("GET /portal/events/export.csv", c.constituent(c.portalExport("csv")))
	m.HandleFunc("GET /portal/events/export.jsonl", c.constituent(c.portalExport("jsonl")))
	m.HandleFunc("GET /portal/events/{hash}", c.constituent(c.portalEvent))
	m.HandleFunc("POST /portal/columns", c.constituent(c.portalColumns))
	m.HandleFunc("GET /portal/notifications", c.constituent(c.portalNotifications))
	m.HandleFunc("GET /portal/organisation", c.constituent(c.portalOrganisation))
	m.HandleFunc("POST /portal/organisation/requests", c.constituent(c.portalChangeRequest))
	m.HandleFunc("POST /portal/saved", c.constituent(c.portalSaved(c.saveSearch)))
	m.HandleFunc("POST /portal/saved/{id}", c.constituent(c.portalSaved(c.changeSavedSearch)))
	m.HandleFunc("POST /portal/saved/{id}/delete", c.constituent(c.portalSaved(c.deleteSavedSearch)))
	c.portalIncidentRoutes(m)
	c.portalProductRoutes(m)

}

// portalHandler serves one portal page for the user's organisation.
type portalHandler func(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation)

// constituent serves a portal page to signed-in constituent users; team
// members and constituents without an organisation are refused.
func (c *Console) constituent(h portalHandler) http.HandlerFunc {
	return c.constituentUpTo(maxFormBytes, h)
}

// constituentUpTo is constituent for a form whose body may be up to
// maxBody bytes (a report with its attachments).
func (c *Console) constituentUpTo(maxBody int64, h portalHandler) http.HandlerFunc {
	return c.memberUpTo(0, maxBody, func(w http.ResponseWriter, r *http.Request, v *visit) {
		if v.user.Role != auth.RoleConstituent || v.user.OrgID == 0 {
			c.problem(w, r, v, http.StatusForbidden, msgForbiddenHeading, msgPortalTeamOnly)
			return
		}
		org, err := c.store.GetOrganisation(r.Context(), v.user.OrgID)
		if errors.Is(err, store.ErrNotFound) {
			c.problem(w, r, v, http.StatusForbidden, msgForbiddenHeading, msgPortalNoOrganisation)
			return
		}
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		if org.Disabled {
			// Its sessions ended with the disable; this is one that
			// began in the same instant.
			c.problem(w, r, v, http.StatusForbidden, msgForbiddenHeading, msgLoginOrganisationDisabled)
			return
		}
		h(w, r, v, org)
	})
}

// portalSearchParams are the portal's search fields: the analysts' ones,
// less nothing that could widen the search beyond the organisation (the
// organisation is not a field at all).
var portalSearchParams = []string{"ip", "cidr", "asn", "fqdn", "url", "hash", "taxonomy", "type", "feed", "from", "to"}

// parsePortalSearch reads the portal's search form into a query bounded by
// org.
func parsePortalSearch(values url.Values, org constituency.Organisation) (store.EventQuery, searchForm, map[string]string) {
	q, form, problems := parseSearchOf(values, portalSearchParams)
	q.Organisation = org.Handle
	return q, form, problems
}

func (f searchForm) encodePortal() string { return f.encodeOf(portalSearchParams) }

// portalEventsPage is the data of the portal's event list.
type portalEventsPage struct {
	Organisation constituency.Organisation
	eventsPage
}

func (c *Console) portalEvents(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	c.showPortalEvents(w, r, v, org, r.URL.Query(), http.StatusOK, flashOf(r), "")
}

// showPortalEvents renders the portal's event list for values, with the
// person's saved searches, as showEvents does the team's.
func (c *Console) showPortalEvents(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation, values url.Values, status int, flash, problem string) {
	q, form, problems := parsePortalSearch(values, org)
	p := portalEventsPage{Organisation: org, eventsPage: eventsPage{
		Form: form, Problems: problems, Taxonomies: taxonomy.Names(), Types: taxonomy.Types(),
	}}
	if err := c.savedSearchesInto(r.Context(), v, portalSaved, &p.eventsPage); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if len(problems) > 0 {
		c.render(w, r, v, http.StatusBadRequest, "portal_events", msgTitlePortalEvents, p, "", msgSearchInvalid)
		return
	}
	searchProblem, err := c.searchInto(r, constituency.EventsOf(c.store, org), &p.eventsPage, q, values, form.encodePortal(),
		c.loadColumns(r.Context(), v.user.ID),
		eventLinks{list: "/portal/?", export: "/portal/events/export", event: "/portal/events/", params: portalSearchParams})
	switch {
	case searchProblem != "":
		c.render(w, r, v, http.StatusBadRequest, "portal_events", msgTitlePortalEvents, p, "", searchProblem)
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, v, status, "portal_events", msgTitlePortalEvents, p, flash, problem)
}

// portalColumns keeps the user's choice of columns for the portal's list.
func (c *Console) portalColumns(w http.ResponseWriter, r *http.Request, v *visit, _ constituency.Organisation) {
	c.saveColumns(w, r, v, "/portal/?", false)
}

func (c *Console) portalEvent(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	h, ok := event.ParseHash(strings.ToLower(r.PathValue("hash")))
	if !ok {
		c.notFound(w, r, v)
		return
	}
	se, err := constituency.EventsOf(c.store, org).GetEvent(r.Context(), h)
	// Another organisation's event answers exactly like a missing one, so
	// that a guessed hash tells nothing.
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := eventDetailData(se, tableLinks{list: "/portal/?", params: portalSearchParams})
	p.BackURL = "/portal/"
	if back, err := url.ParseQuery(r.URL.Query().Get("back")); err == nil {
		_, form, _ := parsePortalSearch(back, org)
		if qs := joinQuery(form.encodePortal(), parseTableView(back, false).encode(true)); qs != "" {
			p.BackURL = "/portal/?" + qs
		}
	}
	c.render(w, r, v, http.StatusOK, "event", msgTitleEvent, p, "", "")
}

func (c *Console) portalExport(format string) portalHandler {
	return func(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
		q, form, problems := parsePortalSearch(r.URL.Query(), org)
		if len(problems) > 0 {
			p := portalEventsPage{Organisation: org, eventsPage: eventsPage{Form: form, Problems: problems,
				Taxonomies: taxonomy.Names(), Types: taxonomy.Types()}}
			c.render(w, r, v, http.StatusBadRequest, "portal_events", msgTitlePortalEvents, p, "", msgSearchInvalid)
			return
		}
		c.writeExport(w, r, v, constituency.EventsOf(c.store, org), q, org.Handle+"-events", format)
	}
}

// portalNotificationsPage lists what was sent to the organisation.
type portalNotificationsPage struct {
	Organisation constituency.Organisation
	Messages     []outbox.Message
	NextURL      string
}

// messagesPerPage is the length of a notification log page.
const messagesPerPage = 50

func (c *Console) portalNotifications(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	msgs, err := c.store.ListMessages(r.Context(), outbox.MessageQuery{OrgID: org.ID, Limit: messagesPerPage + 1, BeforeID: before})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := portalNotificationsPage{Organisation: org, Messages: msgs}
	if len(msgs) > messagesPerPage {
		p.Messages = msgs[:messagesPerPage]
		p.NextURL = "/portal/notifications?before=" + strconv.FormatInt(p.Messages[messagesPerPage-1].ID, 10)
	}
	c.render(w, r, v, http.StatusOK, "portal_notifications", msgTitlePortalNotifications, p, "", "")
}

// portalOrganisationPage shows the organisation's record and its open
// change requests.
type portalOrganisationPage struct {
	Organisation constituency.Organisation
	Requests     []constituency.ChangeRequest
	Text         string // the request as typed, shown again on a problem
}

func (c *Console) portalOrganisation(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	c.renderPortalOrganisation(w, r, v, org, http.StatusOK, "", "")
}

func (c *Console) renderPortalOrganisation(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation, status int, text, problem string) {
	reqs, err := c.store.ListChangeRequests(r.Context(), org.ID, true)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := portalOrganisationPage{Organisation: org, Requests: reqs, Text: text}
	c.render(w, r, v, status, "portal_organisation", msgTitlePortalOrganisation, p, flashOf(r), problem)
}

// maxChangeRequest bounds a change request's text: a few paragraphs and a
// pasted key fit; a pasted log file does not belong there.
const maxChangeRequest = 20000

func (c *Console) portalChangeRequest(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
	text := strings.TrimSpace(r.PostFormValue("text"))
	if text == "" || len(text) > maxChangeRequest || !utf8.ValidString(text) {
		c.renderPortalOrganisation(w, r, v, org, http.StatusBadRequest, text, msgPortalRequestBad)
		return
	}
	req := constituency.ChangeRequest{OrgID: org.ID, UserID: v.user.ID, Actor: v.user.Name, Text: text}
	if err := c.store.AddChangeRequest(r.Context(), &req); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "changerequest.create", org.Handle, fmt.Sprintf("request %d", req.ID))
	redirectDone(w, r, "/portal/organisation", "request")
}
