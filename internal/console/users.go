package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// usersPage is the data of the user administration page.
type usersPage struct {
	Users     []auth.User
	Roles     []auth.Role
	Languages []i18n.Language
	Self      int64
	// Organisations are those a constituent account can belong to;
	// OrgNames names them in the table.
	Organisations []constituency.Organisation
	OrgNames      map[int64]string
	// Form is the create form as typed, shown again after a problem.
	Form struct {
		Name, Email, Role, Language string
		OrgID                       int64
	}
}

var allRoles = []auth.Role{auth.RoleAnalyst, auth.RolePublisher, auth.RoleAdmin, auth.RoleConstituent}

func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, v *visit) (usersPage, bool) {
	users, err := c.store.ListUsers(r.Context())
	if err != nil {
		c.fail(w, r, v, err)
		return usersPage{}, false
	}
	orgs, err := c.store.ListOrganisations(r.Context(), constituency.OrganisationQuery{})
	if err != nil {
		c.fail(w, r, v, err)
		return usersPage{}, false
	}
	names := make(map[int64]string, len(orgs))
	for _, o := range orgs {
		names[o.ID] = o.Name
	}
	return usersPage{Users: users, Roles: allRoles, Languages: c.catalog.Languages(), Self: v.user.ID,
		Organisations: orgs, OrgNames: names}, true
}

// organisationProblem is the message of auth.CheckOrganisationOfRole's
// refusal, "" when the account may belong to orgID.
func organisationProblem(role auth.Role, orgID int64) string {
	switch err := auth.CheckOrganisationOfRole(role, orgID); {
	case errors.Is(err, auth.ErrOrganisationNeeded):
		return msgUserOrgNeeded
	case err != nil:
		return msgUserOrgTeam
	}
	return ""
}

func (c *Console) users(w http.ResponseWriter, r *http.Request, v *visit) {
	p, ok := c.usersPage(w, r, v)
	if !ok {
		return
	}
	c.render(w, r, v, http.StatusOK, "users", msgTitleUsers, p, flashOf(r), "")
}

func (c *Console) createUser(w http.ResponseWriter, r *http.Request, v *visit) {
	p, ok := c.usersPage(w, r, v)
	if !ok {
		return
	}
	p.Form.Name = strings.TrimSpace(r.PostFormValue("name"))
	p.Form.Email = strings.TrimSpace(r.PostFormValue("email"))
	p.Form.Role = r.PostFormValue("role")
	p.Form.Language = r.PostFormValue("language")
	if !c.catalog.Supported(p.Form.Language) {
		p.Form.Language = i18n.Source
	}
	p.Form.OrgID, _ = strconv.ParseInt(r.PostFormValue("org"), 10, 64)
	u, err := auth.NewUser(p.Form.Name, p.Form.Email, auth.Role(p.Form.Role), r.PostFormValue("password"), p.Form.Language)
	u.OrgID = max(p.Form.OrgID, 0)
	problem := ""
	switch {
	case errors.Is(err, auth.ErrBadUserName):
		problem = msgUserNameBad
	case errors.Is(err, auth.ErrPasswordTooShort):
		problem = msgPasswordShort
	case errors.Is(err, auth.ErrUnknownRole):
		problem = msgUserRoleBad
	case err != nil:
		c.fail(w, r, v, err)
		return
	default:
		problem = organisationProblem(u.Role, u.OrgID)
	}
	if problem == "" {
		err = c.store.CreateUser(r.Context(), &u)
		if errors.Is(err, store.ErrConflict) {
			problem = msgUserNameTaken
		} else if errors.Is(err, store.ErrNotFound) {
			problem = msgUserOrgUnknown
		} else if err != nil {
			c.fail(w, r, v, err)
			return
		}
	}
	if problem != "" {
		c.render(w, r, v, http.StatusBadRequest, "users", msgTitleUsers, p, "", problem)
		return
	}
	detail := "role " + string(u.Role)
	if u.OrgID != 0 {
		detail += ", organisation " + p.OrgNames[u.OrgID]
	}
	c.audit(r.Context(), v, "user.create", u.Name, detail)
	redirectDone(w, r, "/users", "user")
}

// changeUser applies one administrative action to an account: disable,
// enable, role, password or totp-reset.
func (c *Console) changeUser(w http.ResponseWriter, r *http.Request, v *visit) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.notFound(w, r, v)
		return
	}
	u, err := c.store.GetUser(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	showProblem := func(status int, msg string) {
		if p, ok := c.usersPage(w, r, v); ok {
			c.render(w, r, v, status, "users", msgTitleUsers, p, "", msg)
		}
	}
	action := r.PostFormValue("action")
	endSessions := false
	detail := ""
	switch action {
	case "disable", "enable", "role":
		// The console refuses even an enable of one's own account, which
		// the form never offers.
		if auth.CheckSelfChange(v.user.ID, u, true, u.Role) != nil {
			showProblem(http.StatusBadRequest, msgUserSelf)
			return
		}
	}
	switch action {
	case "disable":
		u.Disabled, endSessions = true, true
	case "enable":
		u.Disabled = false
	case "role":
		role, was := auth.Role(r.PostFormValue("role")), u.Role
		if err := auth.ChangeRole(&u, role); errors.Is(err, auth.ErrOrganisationNeeded) {
			showProblem(http.StatusBadRequest, msgUserOrgNeeded)
			return
		} else if err != nil {
			showProblem(http.StatusBadRequest, msgUserRoleBad)
			return
		}
		detail = string(was) + " → " + string(role)
		endSessions = true
	case "password":
		pw := r.PostFormValue("password")
		if err := auth.ValidateNewPassword(pw); err != nil {
			showProblem(http.StatusBadRequest, msgPasswordShort)
			return
		}
		if u.PasswordHash, err = auth.HashPassword(pw); err != nil {
			c.fail(w, r, v, err)
			return
		}
		endSessions = true
	case "totp-reset":
		u.TOTPSecret = ""
	default:
		c.problem(w, r, v, http.StatusBadRequest, msgErrorHeading, msgErrorInternal)
		return
	}
	if err := c.store.UpdateUser(r.Context(), u); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if action == "totp-reset" {
		// The recovery codes belonged to the removed factor.
		if err := c.store.ReplaceRecoveryCodes(r.Context(), u.ID, nil); err != nil {
			c.fail(w, r, v, err)
			return
		}
	}
	if endSessions && u.ID != v.user.ID {
		if err := c.store.DeleteUserSessions(r.Context(), u.ID); err != nil {
			c.logger.Error("end sessions of changed user", "user", u.Name, "err", err)
		}
	}
	c.audit(r.Context(), v, "user."+action, u.Name, detail)
	redirectDone(w, r, "/users", "user")
}
