package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// Constituents' change requests, for the team: the list (open ones first,
// as the console shows them) and marking one handled, audited as the
// console's button is.

var changeRequestParams = []string{"organisation", "open"}

type changeRequestJSON struct {
	ID             int64     `json:"id"`
	OrganisationID int64     `json:"organisation_id"`
	Organisation   string    `json:"organisation"`
	Actor          string    `json:"actor"`
	Text           string    `json:"text"`
	Created        time.Time `json:"created"`
	Done           bool      `json:"done"`
}

func (h *handler) listChangeRequests(r *http.Request, _ *caller) (any, error) {
	values := r.URL.Query()
	if err := checkParams(values, changeRequestParams); err != nil {
		return nil, err
	}
	orgID, err := intParam(values, "organisation", 0, 1<<62)
	if err != nil {
		return nil, err
	}
	openOnly := false
	switch values.Get("open") {
	case "", "false":
	case "true":
		openOnly = true
	default:
		return nil, badParameterText("open", i18n.M("api.error.param.bool", "open"))
	}
	ctx := r.Context()
	reqs, err := h.store.ListChangeRequests(ctx, orgID, !openOnly)
	if err != nil {
		return nil, fmt.Errorf("list change requests: %w", err)
	}
	orgs, err := h.store.ListOrganisations(ctx, constituency.OrganisationQuery{})
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	names := make(map[int64]string, len(orgs))
	for _, o := range orgs {
		names[o.ID] = o.Name
	}
	constituency.OpenFirst(reqs)
	out := struct {
		ChangeRequests []changeRequestJSON `json:"change_requests"`
	}{ChangeRequests: []changeRequestJSON{}}
	for _, q := range reqs {
		out.ChangeRequests = append(out.ChangeRequests, toChangeRequestJSON(q, names[q.OrgID]))
	}
	return out, nil
}

func toChangeRequestJSON(q constituency.ChangeRequest, org string) changeRequestJSON {
	return changeRequestJSON{ID: q.ID, OrganisationID: q.OrgID, Organisation: org, Actor: q.Actor, Text: q.Text,
		Created: q.Created.UTC(), Done: q.Done}
}

func (h *handler) markChangeRequestDone(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	req, target, detail, err := constituency.MarkRequestDone(ctx, h.store, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.changerequest.notfound"))
	}
	if err != nil {
		return nil, fmt.Errorf("mark change request %d done: %w", id, err)
	}
	h.audit(ctx, c, "changerequest.done", target, detail)
	name := ""
	if o, err := h.store.GetOrganisation(ctx, req.OrgID); err == nil {
		name = o.Name
	}
	return toChangeRequestJSON(req, name), nil
}
