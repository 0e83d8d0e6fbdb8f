package console

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/store"
)

// Incidents from the console's events: the action bar on the events
// search (the ticked rows) and on an event's page (that event) opens an
// incident from them or adds them to one, and the incident's page lists
// the events it holds. The bar is one form (template "event-actions",
// id event-actions) whose buttons post to their own routes by
// formaction, the rows' checkboxes (field "event", the events' hashes)
// belonging to it by their form attribute: the page needs no script,
// and other actions on the same selection add a button.

// eventIncidentFlashes are the notices of the bar's actions.
var eventIncidentFlashes = map[string]string{
	"events-added":   "done.cases.events.added",
	"events-had":     "done.cases.events.had",
	"events-opened":  "done.cases.events.opened",
	"events-partial": "done.cases.events.partial",
}

func init() { maps.Copy(flashes, eventIncidentFlashes) }

// eventIncidentRoutes adds the bar's actions.
func (c *Console) eventIncidentRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /events/incidents/open", c.member(auth.HandleIncidents, c.openFromEvents))
	m.HandleFunc("POST /events/incidents/add", c.member(auth.HandleIncidents, c.addEventsToIncident))
}

// eventCases is the incident service with the console's events.
func (c *Console) eventCases() *incident.EventService {
	return &incident.EventService{Service: c.cases(), Events: c.store, Cases: c.store}
}

// eventBar is the data of the action bar.
type eventBar struct {
	// Back is the page's address, which a refused action shows again.
	Back string
	// Hashes is the event of its own page, sent with the bar; nil on
	// the search, whose rows are ticked.
	Hashes []string
	// All ticks every row of the page; SelectAllURL and ClearURL are the
	// page with and without it.
	All                    bool
	SelectAllURL, ClearURL string
	// Title and Tag are what a refused action was sent with.
	Title, Tag string
	// CanNotify offers notifying the ticked events' organisations now
	// (eventactions.go), which mails constituents: ManageNotifications.
	CanNotify bool
	// MaxReason bounds a false positive's reason.
	MaxReason int
	ticked    map[string]bool
}

// Checked reports whether a row's checkbox is ticked.
func (a *eventBar) Checked(hash string) bool { return a.All || a.ticked[hash] }

// selectParam is the query parameter that ticks every row of the page.
const selectParam = "select"

// eventBarFor returns the bar of the page r shows, nil for a visitor
// who may not handle incidents. hashes is the event of an event's page.
func (c *Console) eventBarFor(r *http.Request, v *visit, hashes []string) *eventBar {
	if !v.can(auth.HandleIncidents) {
		return nil
	}
	q := r.URL.Query()
	a := &eventBar{Hashes: hashes, All: q.Get(selectParam) == "all", ticked: map[string]bool{},
		CanNotify: v.can(auth.ManageNotifications), MaxReason: notify.MaxFalsePositiveReason}
	q.Del(selectParam)
	a.Back = pathWithQuery(r.URL.Path, q)
	a.ClearURL = a.Back
	q.Set(selectParam, "all")
	a.SelectAllURL = pathWithQuery(r.URL.Path, q)
	if r.Method == http.MethodPost {
		a.Title, a.Tag = r.PostFormValue("title"), r.PostFormValue("tag")
		for _, h := range r.PostForm["event"] {
			a.ticked[strings.ToLower(h)] = true
		}
	}
	return a
}

func pathWithQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// openFromEvents opens an incident from the events sent, titled as the
// bar says or after the first event.
func (c *Console) openFromEvents(w http.ResponseWriter, r *http.Request, v *visit) {
	c.eventAction(w, r, v, func(hashes []string) (string, error) {
		title := strings.TrimSpace(r.PostFormValue("title"))
		inc, _, err := c.eventCases().OpenFromEvents(r.Context(), actorOf(v), incident.Incident{Title: title}, hashes)
		if err != nil && inc.ID != 0 {
			// Opened, but the events could not be added: the incident
			// says so on its page rather than a second one being opened.
			c.logger.Error("add events to the incident opened from them", "incident", inc.Tag.String(), "err", err)
			return "/incidents/" + inc.Tag.String() + "?done=events-partial", nil
		}
		if err != nil {
			return "", err
		}
		return "/incidents/" + inc.Tag.String() + "?done=events-opened", nil
	})
}

// addEventsToIncident adds the events sent to the incident of the tag
// typed.
func (c *Console) addEventsToIncident(w http.ResponseWriter, r *http.Request, v *visit) {
	c.eventAction(w, r, v, func(hashes []string) (string, error) {
		typed := strings.TrimSpace(r.PostFormValue("tag"))
		tag, err := incident.ParseTag(typed)
		if err != nil {
			return "", refuse(msgIncidentBadTag, typed)
		}
		inc, err := c.store.GetIncidentByTag(r.Context(), tag)
		if errors.Is(err, store.ErrNotFound) {
			return "", refuse(msgIncidentBadTag, tag.String())
		} else if err != nil {
			return "", err
		}
		n, err := c.eventCases().AddEvents(r.Context(), actorOf(v), inc.ID, hashes)
		if err != nil {
			return "", err
		}
		done := "events-added"
		if n == 0 {
			done = "events-had"
		}
		return "/incidents/" + inc.Tag.String() + "?done=" + done, nil
	})
}

// eventAction runs an action of the bar on the events sent: on to the
// incident when it worked, the page the bar was on again with the
// problem when the input was refused.
func (c *Console) eventAction(w http.ResponseWriter, r *http.Request, v *visit, act func(hashes []string) (string, error)) {
	to, err := act(r.PostForm["event"])
	text := c.inputText(v, err)
	if err == nil {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	if text == "" {
		c.fail(w, r, v, err)
		return
	}
	c.showEventsAgain(w, r, v, text)
}

// showEventsAgain shows the page the bar was on (its back field: the
// search or an event's page) with a problem; any other address shows the
// search.
func (c *Console) showEventsAgain(w http.ResponseWriter, r *http.Request, v *visit, problem string) {
	back, err := url.Parse(r.PostFormValue("back"))
	if err != nil || back.Scheme != "" || back.Host != "" {
		back = &url.URL{Path: "/events"}
	}
	r.URL.Path, r.URL.RawQuery = back.Path, back.RawQuery
	if rest, ok := strings.CutPrefix(back.Path, "/events/"); ok {
		if _, ok := event.ParseHash(strings.ToLower(rest)); ok {
			r.SetPathValue("hash", rest)
			c.showEventDetail(w, r, v, http.StatusBadRequest, problem)
			return
		}
	}
	r.URL.Path = "/events"
	c.showEvents(w, r, v, back.Query(), http.StatusBadRequest, "", problem)
}

// incidentEventsShown is how many events an incident's page lists at a
// time.
const incidentEventsShown = 100

// incidentEvents is a page of the events an incident holds, with the
// links to the pages before and after it.
type incidentEvents struct {
	incident.EventPage
	// From and To number the events shown, from 1.
	From, To         int
	PrevURL, NextURL string
}

// incidentEventsOf reads the page of the incident's events that the
// query's "events" (an offset) asks for.
func (c *Console) incidentEventsOf(r *http.Request, inc incident.Incident) (incidentEvents, error) {
	offset, _ := strconv.Atoi(r.URL.Query().Get("events"))
	offset = max(offset, 0)
	page, err := c.store.IncidentEvents(r.Context(), inc.ID, incidentEventsShown, offset)
	if err != nil {
		return incidentEvents{}, err
	}
	out := incidentEvents{EventPage: page, From: offset + 1, To: offset + len(page.Events)}
	at := func(off int) string {
		return "/incidents/" + inc.Tag.String() + "?events=" + strconv.Itoa(off) + "#events"
	}
	if offset > 0 {
		out.PrevURL = at(max(offset-incidentEventsShown, 0))
	}
	if out.To < page.Total {
		out.NextURL = at(out.To)
	}
	return out, nil
}
