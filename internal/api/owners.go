package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store"
)

// ownerJSON is one answer to "who owns this?": the organisation, the rule
// that matched (network, asn or domain, the words of the console and the
// CLI) and the network, AS or domain of the organisation that did.
type ownerJSON struct {
	OrganisationID int64  `json:"organisation_id"`
	Handle         string `json:"handle"`
	// Name is absent for an organisation deleted since the pipeline's
	// table was built.
	Name  string `json:"name,omitempty"`
	Rule  string `json:"rule"`
	Value string `json:"value"`
}

type ownersJSON struct {
	Query string `json:"query"`
	// Owners are every owner, the most specific first: the first is the
	// one events are tagged with.
	Owners []ownerJSON `json:"owners"`
}

func (h *handler) owners(r *http.Request, _ *caller) (any, error) {
	values := r.URL.Query()
	if err := checkParams(values, []string{"q"}); err != nil {
		return nil, err
	}
	query := strings.TrimSpace(values.Get("q"))
	if query == "" {
		return nil, badParameter("q", "missing: an IP address, a network (192.0.2.0/24), an AS number (AS64496) or a domain")
	}
	ctx := r.Context()
	table, err := h.constituencyTable(ctx)
	if err != nil {
		return nil, err
	}
	matches, err := table.Lookup(query)
	if err != nil {
		// Lookup fails only on what was asked.
		return nil, badParameter("q", "not an IP address, network (192.0.2.0/24), AS number (AS64496) or domain")
	}
	out := ownersJSON{Query: query, Owners: []ownerJSON{}}
	names := map[int64]string{}
	for _, m := range matches {
		name, ok := names[m.OrgID]
		if !ok {
			o, err := h.store.GetOrganisation(ctx, m.OrgID)
			switch {
			case err == nil:
				name = o.Name
			case !errors.Is(err, store.ErrNotFound):
				return nil, fmt.Errorf("owner %s: %w", m.Handle, err)
			}
			names[m.OrgID] = name
		}
		out.Owners = append(out.Owners, ownerJSON{OrganisationID: m.OrgID, Handle: m.Handle, Name: name,
			Rule: string(m.Rule), Value: m.Value})
	}
	return out, nil
}

// constituencyTable is the pipeline's table when the API has the
// directory, else one built from the store now.
func (h *handler) constituencyTable(ctx context.Context) (*constituency.Table, error) {
	if h.directory != nil {
		if h.directory.Version() < 0 {
			if err := h.directory.Reload(ctx); err != nil {
				return nil, fmt.Errorf("load constituency table: %w", err)
			}
		}
		return h.directory.Table(), nil
	}
	orgs, err := h.store.ListOrganisations(ctx, constituency.OrganisationQuery{})
	if err != nil {
		return nil, fmt.Errorf("constituency table: %w", err)
	}
	return constituency.NewTable(orgs), nil
}

// constituencyChangedNow tells the pipeline that organisations changed. A
// failed reload is logged: the change is stored, and the directory's own
// polling picks it up a few seconds later.
func (h *handler) constituencyChangedNow(ctx context.Context) {
	switch {
	case h.constituencyChanged != nil:
		h.constituencyChanged(ctx)
	case h.directory != nil:
		if err := h.directory.Reload(ctx); err != nil {
			h.log.Error("reload constituency table", "err", err)
		}
	}
}
