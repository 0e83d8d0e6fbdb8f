package api

import (
	"cmp"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident"
)

// The events an incident holds: GET and POST /incidents/{tag}/events, and
// POST /incidents with "events" (createIncident) to open one from them.

// eventService is the incident service with the store's events.
func (h *handler) eventService(c *caller) *incident.EventService {
	return &incident.EventService{Service: h.service(c), Events: h.store, Cases: h.store}
}

// incidentEventsInput is the body of POST /incidents/{tag}/events: the hashes of
// the events to add, as the events API gives them.
type incidentEventsInput struct {
	Events []string `json:"events"`
}

// incidentEventJSON is an event an incident holds, as it was when added.
type incidentEventJSON struct {
	Hash          string     `json:"hash"`
	Time          *time.Time `json:"time,omitempty"`
	Type          string     `json:"type"`
	SourceIP      string     `json:"source_ip,omitempty"`
	FQDN          string     `json:"fqdn,omitempty"`
	URL           string     `json:"url,omitempty"`
	Organisations []string   `json:"organisations"`
	Added         time.Time  `json:"added"`
	AddedBy       string     `json:"added_by"`
}

// incidentEventsJSON is a page of an incident's events and how many it
// holds.
type incidentEventsJSON struct {
	Events []incidentEventJSON `json:"events"`
	Total  int                 `json:"total"`
}

func toIncidentEventJSON(l incident.EventLink) incidentEventJSON {
	out := incidentEventJSON{Hash: l.Hash, Type: l.Type, SourceIP: l.SourceIP, FQDN: l.FQDN, URL: l.URL,
		Organisations: nonNil(l.Organisations), Added: l.Added, AddedBy: l.AddedBy}
	if !l.Time.IsZero() {
		t := l.Time
		out.Time = &t
	}
	return out
}

// maxIncidentEventsPage bounds a page of GET /incidents/{tag}/events.
const maxIncidentEventsPage = 1000

func (h *handler) listIncidentEvents(r *http.Request, _ *caller) (any, error) {
	values := r.URL.Query()
	if err := checkParams(values, []string{"limit", "offset"}); err != nil {
		return nil, err
	}
	limit, err := intParam(values, "limit", 100, maxIncidentEventsPage)
	if err != nil {
		return nil, err
	}
	offset, err := strconv.Atoi(cmp.Or(values.Get("offset"), "0"))
	if err != nil || offset < 0 {
		return nil, badParameterText("offset", i18n.M("api.error.param.offset"))
	}
	inc, err := h.pathIncident(r)
	if err != nil {
		return nil, err
	}
	page, err := h.store.IncidentEvents(r.Context(), inc.ID, int(limit), offset)
	if err != nil {
		return nil, err
	}
	out := incidentEventsJSON{Events: []incidentEventJSON{}, Total: page.Total}
	for _, l := range page.Events {
		out.Events = append(out.Events, toIncidentEventJSON(l))
	}
	return out, nil
}

func (h *handler) addIncidentEvents(r *http.Request, c *caller) (any, error) {
	inc, err := h.incidentAction(r)
	if err != nil {
		return nil, err
	}
	var in incidentEventsInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	n, err := h.eventService(c).AddEvents(r.Context(), actorOf(c), inc.ID, in.Events)
	if err != nil {
		return nil, err
	}
	return countJSON{Changed: n, Of: len(in.Events)}, nil
}
