package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/i18n"
)

// ownerJSON is one answer to "who owns this?": the organisation, the rule
// that matched (network, asn or domain, the words of the console and the
// CLI) and the network, AS or domain of the organisation that did.
type ownerJSON struct {
	OrganisationID int64  `json:"organisation_id"`
	Handle         string `json:"handle"`
	// Name is absent for an organisation deleted since the pipeline's
	// table was built.
	Name string `json:"name,omitempty"`
	// Disabled marks a disabled organisation: still the owner, not
	// notified.
	Disabled bool   `json:"disabled,omitempty"`
	Rule     string `json:"rule"`
	Value    string `json:"value"`
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
		return nil, badParameterText("q", i18n.M("api.error.owners.missing"))
	}
	found, err := constituency.Owners(r.Context(), h.directory, h.store, query)
	if errors.Is(err, constituency.ErrNotAQuery) {
		return nil, badParameterText("q", i18n.M("api.error.owners.bad"))
	}
	if err != nil {
		return nil, err
	}
	out := ownersJSON{Query: query, Owners: []ownerJSON{}}
	for _, o := range found {
		out.Owners = append(out.Owners, ownerJSON{OrganisationID: o.OrgID, Handle: o.Handle, Name: o.Name,
			Disabled: o.Disabled, Rule: string(o.Rule), Value: o.Value})
	}
	return out, nil
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
