package console

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store"
)

// changeRequestsPage is the data of the team's list of constituents'
// change requests.
type changeRequestsPage struct {
	Requests  []constituency.ChangeRequest
	Names     map[int64]string // organisation names by ID
	Open      int
	CanManage bool
}

func (c *Console) changeRequests(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	reqs, err := c.store.ListChangeRequests(ctx, 0, true)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	orgs, err := c.store.ListOrganisations(ctx, constituency.OrganisationQuery{})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := changeRequestsPage{Requests: reqs, Names: make(map[int64]string, len(orgs)), CanManage: v.can(auth.ManageConstituency)}
	for _, o := range orgs {
		p.Names[o.ID] = o.Name
	}
	for _, req := range reqs {
		if !req.Done {
			p.Open++
		}
	}
	constituency.OpenFirst(p.Requests)
	c.render(w, r, v, http.StatusOK, "changerequests", msgTitleChangeRequests, p, flashOf(r), "")
}

// markRequestDone marks a change request handled and returns to where the
// button was: the organisation's page (back=org) or the list.
func (c *Console) markRequestDone(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.notFound(w, r, v)
		return
	}
	req, target, detail, err := constituency.MarkRequestDone(ctx, c.store, id)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	} else if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(ctx, v, "changerequest.done", target, detail)
	back := "/constituency/requests"
	if r.PostFormValue("back") == "org" {
		back = "/constituency/" + strconv.FormatInt(req.OrgID, 10)
	}
	redirectDone(w, r, back, "request-done")
}
