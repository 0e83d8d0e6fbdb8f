package api

import (
	"net/http"
	"time"

	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/incident/lookup"
)

// What Vigil knows of an incident's observables (internal/incident/lookup),
// for the team: the same as the console's incident page shows.

// observableSearchJSON is the events search that finds the events
// counted: GET /events with field=value.
type observableSearchJSON struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// knownJSON is one observable with what Vigil knows of it.
type knownJSON struct {
	Kind  extract.Kind `json:"kind"`
	Value string       `json:"value"`
	// LookedUp is false for a kind Vigil keeps nothing about and past
	// lookup.MaxObservables.
	LookedUp bool                  `json:"looked_up"`
	Host     string                `json:"host,omitempty"`
	Search   *observableSearchJSON `json:"search,omitempty"`
	ASN      uint32                `json:"asn,omitempty"`
	Owners   []ownerJSON           `json:"owners"`
	Events   int                   `json:"events"`
	// MoreEvents says more than event_cap events name it; Events is
	// then event_cap+1.
	MoreEvents bool       `json:"more_events"`
	FirstSeen  *time.Time `json:"first_seen,omitempty"`
	LastSeen   *time.Time `json:"last_seen,omitempty"`
	Undated    bool       `json:"undated,omitempty"`
}

// incidentObservablesJSON is the answer of GET
// /incidents/{tag}/observables.
type incidentObservablesJSON struct {
	Incident    string      `json:"incident"`
	Observables []knownJSON `json:"observables"`
	// Skipped counts the observables past MaxLookedUp, listed without a
	// lookup.
	Skipped     int `json:"skipped"`
	MaxLookedUp int `json:"max_looked_up"`
	EventCap    int `json:"event_cap"`
}

func (h *handler) incidentObservables(r *http.Request, _ *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	inc, err := h.pathIncident(r)
	if err != nil {
		return nil, err
	}
	l := &lookup.Looker{Events: h.store, Orgs: h.store, Directory: h.directory}
	res, err := l.Look(r.Context(), inc.Observables)
	if err != nil {
		return nil, err
	}
	out := incidentObservablesJSON{Incident: inc.Tag.String(), Observables: []knownJSON{}, Skipped: res.Skipped,
		MaxLookedUp: lookup.MaxObservables, EventCap: lookup.EventCap}
	for _, k := range res.Observables {
		j := knownJSON{Kind: k.Kind, Value: k.Value, LookedUp: k.Looked, Host: k.Host, ASN: k.ASN, Owners: []ownerJSON{},
			Events: k.Events, MoreEvents: k.MoreEvents(), FirstSeen: timePtr(k.First), LastSeen: timePtr(k.Last), Undated: k.Undated}
		if k.Field != "" {
			j.Search = &observableSearchJSON{Field: k.Field, Value: k.Term}
		}
		for _, o := range k.Owners {
			j.Owners = append(j.Owners, ownerJSON{OrganisationID: o.OrgID, Handle: o.Handle, Name: o.Name,
				Disabled: o.Disabled, Rule: string(o.Rule), Value: o.Value})
		}
		out.Observables = append(out.Observables, j)
	}
	return out, nil
}
