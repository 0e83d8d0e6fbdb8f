package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
)

// One organisation's page: showing it with its notification policy,
// recent notifications, users and change requests, and creating, editing
// and deleting it. Reading and checking the form is in organisationform.go.

// organisationPage is the data of one organisation's page, and of the
// creation form (New).
type organisationPage struct {
	New bool
	// Edit shows an existing organisation's form; otherwise its page
	// reads as a record, with the form one button away.
	Edit      bool
	CanManage bool
	Org       constituency.Organisation // as stored; zero for New
	Form      organisationForm
	// Problems are the translated problems of each field
	// (constituency.Field… names); Notes what Check found worth knowing.
	Problems  map[string][]string
	Notes     []string
	Languages []string
	Roles     []string

	Policy   policySummary
	Messages []outbox.Message
	MoreURL  string // the notification log of the organisation
	Users    []auth.User
	Requests []constituency.ChangeRequest

	// CanDisable: the visitor may disable and enable the organisation
	// (administrators: it locks its accounts out of the portal).
	CanDisable bool
	// Incidents are the latest incidents concerning the organisation,
	// for a visitor who may read them.
	Incidents []incident.Incident
	// Products are the products it declared (portalproducts.go).
	Products organisationProducts
}

func (c *Console) newOrganisationForm(w http.ResponseWriter, r *http.Request, v *visit) {
	p := c.organisationData(v)
	p.New = true
	p.Form.Language = constituency.Languages[0]
	p.Form.Contacts = withBlankRows(nil)
	c.render(w, r, v, http.StatusOK, "organisation", msgTitleOrganisationNew, p, "", "")
}
func (c *Console) organisationData(v *visit) organisationPage {
	return organisationPage{
		CanManage: v.can(auth.ManageConstituency),
		Problems:  map[string][]string{},
		Languages: constituency.Languages,
		Roles:     constituency.Roles,

		CanDisable: v.can(auth.ManageUsers),
	}
}
func (c *Console) createOrganisation(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	p := c.organisationData(v)
	p.New = true
	p.Form = readOrganisationForm(r)
	o, ok, err := c.checkOrganisation(ctx, v, &p, 0)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if ok {
		err = c.store.CreateOrganisation(ctx, &o)
		var retired *constituency.RetiredHandleError
		if errors.As(err, &retired) {
			p.Problems[constituency.FieldHandle] = append(p.Problems[constituency.FieldHandle], c.tr(v, msgHandleRetired, o.Handle))
			ok = false
		} else if errors.Is(err, store.ErrConflict) {
			// Taken between the check and the insert.
			p.Problems[constituency.FieldHandle] = append(p.Problems[constituency.FieldHandle], c.tr(v, msgHandleTaken, o.Handle))
			ok = false
		} else if err != nil {
			c.fail(w, r, v, err)
			return
		}
	}
	if !ok {
		p.Form.Contacts = withBlankRows(p.Form.Contacts)
		c.withKeyBadges(v, p.Form.Contacts)
		c.render(w, r, v, http.StatusBadRequest, "organisation", msgTitleOrganisationNew, p, "", msgOrganisationInvalid)
		return
	}
	c.audit(ctx, v, "organisation.create", o.Handle, constituency.Summary(o))
	c.constituencyChangedNow(ctx)
	redirectDone(w, r, "/constituency/"+strconv.FormatInt(o.ID, 10), "organisation")
}

// pathOrganisation loads the organisation of the {id} in the path; it
// answers the request itself (not found, failure) when it returns false.
func (c *Console) pathOrganisation(w http.ResponseWriter, r *http.Request, v *visit) (constituency.Organisation, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.notFound(w, r, v)
		return constituency.Organisation{}, false
	}
	o, err := c.store.GetOrganisation(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return o, false
	}
	if err != nil {
		c.fail(w, r, v, err)
		return o, false
	}
	return o, true
}
func (c *Console) organisationPage(w http.ResponseWriter, r *http.Request, v *visit) {
	o, ok := c.pathOrganisation(w, r, v)
	if !ok {
		return
	}
	p := c.organisationData(v)
	p.Org = o
	p.Form = formOf(o)
	c.showOrganisation(w, r, v, http.StatusOK, p, flashOf(r), "")
}

// editOrganisationForm is the organisation's page with its form open.
func (c *Console) editOrganisationForm(w http.ResponseWriter, r *http.Request, v *visit) {
	o, ok := c.pathOrganisation(w, r, v)
	if !ok {
		return
	}
	p := c.organisationData(v)
	p.Org, p.Edit = o, true
	p.Form = formOf(o)
	c.showOrganisation(w, r, v, http.StatusOK, p, "", "")
}

// showOrganisation renders an existing organisation's page with what the
// other sections need.
func (c *Console) showOrganisation(w http.ResponseWriter, r *http.Request, v *visit, status int, p organisationPage, flash, problem string) {
	ctx := r.Context()
	id := p.Org.ID
	var err error
	if p.Policy, err = c.policySummaryOf(ctx, p.Org); err != nil {
		c.fail(w, r, v, err)
		return
	}
	msgs, err := c.store.ListMessages(ctx, outbox.MessageQuery{OrgID: id, Limit: organisationRecentMessages + 1})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if len(msgs) > organisationRecentMessages {
		msgs = msgs[:organisationRecentMessages]
		p.MoreURL = "/notifications?org=" + strconv.FormatInt(id, 10)
	}
	p.Messages = msgs
	users, err := c.store.ListUsers(ctx)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	for _, u := range users {
		if u.OrgID == id {
			p.Users = append(p.Users, u)
		}
	}
	if p.Requests, err = c.store.ListChangeRequests(ctx, id, true); err != nil {
		c.fail(w, r, v, err)
		return
	}
	constituency.OpenFirst(p.Requests)
	if p.Incidents, err = c.organisationIncidents(ctx, v, id); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if p.Products, err = c.organisationProducts(ctx, id); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if status == http.StatusOK {
		if p.Notes, err = c.standingNotes(ctx, v, p.Org); err != nil {
			c.fail(w, r, v, err)
			return
		}
	}
	p.Form.Contacts = withBlankRows(p.Form.Contacts)
	c.withKeyBadges(v, p.Form.Contacts)
	c.render(w, r, v, status, "organisation", msgTitleOrganisation, p, flash, problem)
}

// standingNotes are what Check says about o in the stored constituency,
// such as its network lying inside another organisation's: worth seeing
// every time the page is opened, not only when the form was refused.
func (c *Console) standingNotes(ctx context.Context, v *visit, o constituency.Organisation) ([]string, error) {
	all, err := c.store.ListOrganisations(ctx, constituency.OrganisationQuery{})
	if err != nil {
		return nil, fmt.Errorf("check constituency: %w", err)
	}
	var notes []string
	for _, pr := range constituency.Check(all) {
		if pr.Handle == o.Handle {
			notes = append(notes, c.fieldProblemText(v, &constituency.FieldError{Value: pr.Value, Reason: pr.Reason, Message: pr.Message}, pr.Value))
		}
	}
	return notes, nil
}
func (c *Console) updateOrganisation(w http.ResponseWriter, r *http.Request, v *visit) {
	current, ok := c.pathOrganisation(w, r, v)
	if !ok {
		return
	}
	ctx := r.Context()
	p := c.organisationData(v)
	p.Org = current
	p.Form = readOrganisationForm(r)
	// The handle is what stored events are tagged with: whatever the form
	// says, it stays.
	p.Form.Handle = current.Handle
	o, ok, err := c.checkOrganisation(ctx, v, &p, current.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if !ok {
		p.Edit = true
		c.showOrganisation(w, r, v, http.StatusBadRequest, p, "", msgOrganisationInvalid)
		return
	}
	o.ID = current.ID
	constituency.KeepContactIDs(current.Contacts, o.Contacts, true)
	if err := c.store.UpdateOrganisation(ctx, &o); errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	} else if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(ctx, v, "organisation.update", o.Handle, constituency.Summary(o))
	c.constituencyChangedNow(ctx)
	redirectDone(w, r, "/constituency/"+strconv.FormatInt(o.ID, 10), "organisation")
}

// deletePage is the data of the confirmation before deleting.
type deletePage struct {
	Org   constituency.Organisation
	Users int
}

func (c *Console) deleteOrganisationForm(w http.ResponseWriter, r *http.Request, v *visit) {
	o, ok := c.pathOrganisation(w, r, v)
	if !ok {
		return
	}
	c.showDelete(w, r, v, o, http.StatusOK, "")
}
func (c *Console) showDelete(w http.ResponseWriter, r *http.Request, v *visit, o constituency.Organisation, status int, problem string) {
	users, err := c.store.ListUsers(r.Context())
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := deletePage{Org: o}
	for _, u := range users {
		if u.OrgID == o.ID {
			p.Users++
		}
	}
	c.render(w, r, v, status, "organisation_delete", msgTitleOrganisationDelete, p, "", problem)
}
func (c *Console) deleteOrganisation(w http.ResponseWriter, r *http.Request, v *visit) {
	o, ok := c.pathOrganisation(w, r, v)
	if !ok {
		return
	}
	ctx := r.Context()
	if r.PostFormValue("confirm") != o.Handle {
		c.showDelete(w, r, v, o, http.StatusBadRequest, msgDeleteConfirm)
		return
	}
	err := c.store.DeleteOrganisation(ctx, o.ID)
	switch {
	case errors.Is(err, incident.ErrOrganisationHasIncidents):
		c.showDelete(w, r, v, o, http.StatusConflict, msgDeleteHasCases)
		return
	case errors.Is(err, store.ErrConflict):
		c.showDelete(w, r, v, o, http.StatusConflict, msgDeleteHasUsers)
		return
	case errors.Is(err, store.ErrNotFound):
		c.notFound(w, r, v)
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	c.audit(ctx, v, "organisation.delete", o.Handle, o.Name)
	c.constituencyChangedNow(ctx)
	redirectDone(w, r, "/constituency", "organisation-deleted")
}
