package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/lookup"
)

// What Vigil knows of an incident's observables, on its page: each
// observable's owners in the constituency, the events naming it and when
// they were first and last seen (internal/incident/lookup), and the
// owners not yet among the organisations concerned, which one button
// adds. The triage queue shows each report's owners. All of it is the
// team's: the portal never shows a lookup.

// lookupView is the observables section of an incident's page.
type lookupView struct {
	Rows []lookupRow
	// Skipped counts the observables past lookup.MaxObservables, listed
	// without a lookup.
	Skipped int
	Max     int
	// Cap is lookup.EventCap, past which the events are "more than".
	Cap int
	// Failed says the lookup failed; the observables are listed
	// without what Vigil knows of them.
	Failed bool
	// Suggested are the owners found that the incident does not name
	// among the organisations concerned.
	Suggested []constituency.Owner
}

// lookupRow is one observable of the section.
type lookupRow struct {
	lookup.Known
	// Shown is the value defanged, as the page prints it.
	Shown string
	// Search is the events search that finds the events counted, ""
	// when the events were not searched.
	Search string
	// Owned are the owners with the catalogue key of the rule that
	// matched.
	Owned []lookupOwner
}

// lookupOwner is an owner of an observable, with the catalogue key of
// the rule that matched (network, AS number, domain).
type lookupOwner struct {
	constituency.Owner
	RuleKey string
}

// looker is a lookup over the console's store and constituency.
func (c *Console) looker() *lookup.Looker {
	return &lookup.Looker{Events: c.store, Orgs: c.store, Directory: c.directory}
}

// incidentLookup looks up the incident's observables. A failed lookup
// is logged and said on the page, which still shows the incident.
func (c *Console) incidentLookup(ctx context.Context, inc *incident.Incident) lookupView {
	p := lookupView{Max: lookup.MaxObservables, Cap: lookup.EventCap}
	res, err := c.looker().Look(ctx, inc.Observables)
	if err != nil {
		c.logger.Error("look up an incident's observables", "incident", inc.Tag.String(), "err", err)
		p.Failed = true
		res = lookup.Result{}
		for _, o := range inc.Observables {
			res.Observables = append(res.Observables, lookup.Known{Observable: o})
		}
	}
	p.Skipped = res.Skipped
	seen := map[int64]bool{}
	for _, k := range res.Observables {
		row := lookupRow{Known: k, Shown: lookup.Defanged(k.Observable)}
		if k.Field != "" {
			row.Search = "/events?" + url.Values{k.Field: {k.Term}}.Encode()
		}
		for _, o := range k.Owners {
			row.Owned = append(row.Owned, lookupOwner{Owner: o, RuleKey: ruleMessages[o.Rule]})
		}
		p.Rows = append(p.Rows, row)
		for _, o := range k.Owners {
			if !seen[o.OrgID] && o.Name != "" && !slices.Contains(inc.OrgIDs, o.OrgID) {
				seen[o.OrgID] = true
				p.Suggested = append(p.Suggested, o)
			}
		}
	}
	return p
}

// addOwner adds the organisation of the form to those the incident
// concerns, through the service (which writes the change, its timeline
// line and the audit entry). It must own one of the incident's
// observables: the button offers no other.
func (c *Console) addOwner(r *http.Request, v *visit, inc incident.Incident) (string, error) {
	id, err := strconv.ParseInt(r.PostFormValue("org"), 10, 64)
	if err != nil || id <= 0 {
		return "", refuse(msgIncidentBadInput)
	}
	if slices.Contains(inc.OrgIDs, id) {
		return "incident-changed", nil
	}
	res, err := c.looker().Owners(r.Context(), inc.Observables)
	if err != nil {
		return "", err
	}
	if !slices.ContainsFunc(res.Observables, func(k lookup.Known) bool {
		return slices.ContainsFunc(k.Owners, func(o constituency.Owner) bool { return o.OrgID == id })
	}) {
		return "", refuse(msgLookupNotOwner)
	}
	ids := append(slices.Clone(inc.OrgIDs), id)
	_, err = c.cases().Update(r.Context(), actorOf(v), inc.ID, incident.Change{OrgIDs: &ids})
	return "incident-changed", err
}

// msgLookupNotOwner refuses to add an organisation that owns none of
// the incident's observables.
const msgLookupNotOwner = "cases.lookup.error.owner"

// reportOwners are the owners of each report's observables (the most
// specific owner of each, once), by report id: one query for the
// reports' observables, then the constituency table alone, no events
// read. A failure is logged and shows no owners.
func (c *Console) reportOwners(ctx context.Context, reports []incident.Report) map[int64][]constituency.Owner {
	ids := make([]int64, len(reports))
	for i, r := range reports {
		ids[i] = r.ID
	}
	obs, err := c.store.ReportObservables(ctx, ids)
	if err != nil {
		c.logger.Error("read the reports' observables", "err", err)
		return nil
	}
	out := map[int64][]constituency.Owner{}
	l := c.looker()
	for _, id := range ids {
		res, err := l.Owners(ctx, obs[id])
		if err != nil {
			c.logger.Error("look up a report's owners", "report", id, "err", err)
			return nil
		}
		seen := map[int64]bool{}
		for _, k := range res.Observables {
			if len(k.Owners) > 0 && !seen[k.Owners[0].OrgID] {
				seen[k.Owners[0].OrgID] = true
				out[id] = append(out[id], k.Owners[0])
			}
		}
	}
	return out
}
