package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// Accounts, for administrators: list, read, create, and change the role,
// the language or whether the account is disabled, with the rules of the
// console's users page.

// catalogue tells which languages a person can choose, as the console's.
var catalogue = sync.OnceValues(i18n.Load)

// userJSON is an account as an administrator sees it, never its password
// hash or second-factor secret.
type userJSON struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Role     string `json:"role"`
	Language string `json:"language"`
	Disabled bool   `json:"disabled"`
	// OrganisationID is a constituent account's organisation, absent for
	// the team.
	OrganisationID int64     `json:"organisation_id,omitempty"`
	SecondFactor   bool      `json:"second_factor"`
	Created        time.Time `json:"created"`
}

func toUserJSON(u auth.User) userJSON {
	return userJSON{ID: u.ID, Name: u.Name, Email: u.Email, Role: string(u.Role), Language: u.Language,
		Disabled: u.Disabled, OrganisationID: u.OrgID, SecondFactor: u.TOTPSecret != "", Created: u.Created.UTC()}
}

func (h *handler) listUsers(r *http.Request, _ *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	users, err := h.store.ListUsers(r.Context())
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := struct {
		Users []userJSON `json:"users"`
	}{Users: []userJSON{}}
	for _, u := range users {
		out.Users = append(out.Users, toUserJSON(u))
	}
	return out, nil
}

func (h *handler) pathUser(r *http.Request) (auth.User, error) {
	id, err := pathID(r)
	if err != nil {
		return auth.User{}, err
	}
	u, err := h.store.GetUser(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return u, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.user.notfound"))
	}
	if err != nil {
		return u, fmt.Errorf("get user %d: %w", id, err)
	}
	return u, nil
}

func (h *handler) getUser(r *http.Request, _ *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	u, err := h.pathUser(r)
	if err != nil {
		return nil, err
	}
	return toUserJSON(u), nil
}

type userInput struct {
	Name           string `json:"name"`
	Email          string `json:"email"`
	Role           string `json:"role"`
	Language       string `json:"language"`
	OrganisationID int64  `json:"organisation_id"`
	Password       string `json:"password"`
}

// checkLanguage refuses a language the console cannot be shown in.
func checkLanguage(lang string) error {
	cat, err := catalogue()
	if err != nil {
		return fmt.Errorf("load catalogue: %w", err)
	}
	if !cat.Supported(lang) {
		return badParameterText("language", i18n.M("api.error.user.language"))
	}
	return nil
}

// checkOrganisationOfRole is auth.CheckOrganisationOfRole as an API error.
func checkOrganisationOfRole(role auth.Role, orgID int64) error {
	switch err := auth.CheckOrganisationOfRole(role, orgID); {
	case errors.Is(err, auth.ErrOrganisationNeeded):
		return badParameterText("organisation_id", i18n.M("api.error.user.orgneeded"))
	case errors.Is(err, auth.ErrTeamOrganisation):
		return badParameterText("organisation_id", i18n.M("api.error.user.teamorg"))
	case err != nil:
		return badParameterText("role", i18n.M("api.error.user.role"))
	}
	return nil
}

func (h *handler) createUser(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	var in userInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.Language == "" {
		in.Language = i18n.Source
	}
	if err := checkLanguage(in.Language); err != nil {
		return nil, err
	}
	u, err := auth.NewUser(in.Name, in.Email, auth.Role(in.Role), in.Password, in.Language)
	switch {
	case errors.Is(err, auth.ErrBadUserName):
		return nil, badParameterText("name", i18n.M("api.error.user.name"))
	case errors.Is(err, auth.ErrPasswordTooShort):
		return nil, badParameterText("password", i18n.M("api.error.user.password", auth.MinPasswordLength))
	case errors.Is(err, auth.ErrUnknownRole):
		return nil, badParameterText("role", i18n.M("api.error.user.role"))
	case err != nil:
		return nil, fmt.Errorf("new user: %w", err)
	}
	u.OrgID = max(in.OrganisationID, 0)
	if err := checkOrganisationOfRole(u.Role, u.OrgID); err != nil {
		return nil, err
	}
	ctx := r.Context()
	err = h.store.CreateUser(ctx, &u)
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, errorText(http.StatusConflict, "name_taken", "name", i18n.M("api.error.user.taken", u.Name))
	case errors.Is(err, store.ErrNotFound):
		return nil, badParameterText("organisation_id", i18n.M("api.error.user.orgid"))
	case err != nil:
		return nil, fmt.Errorf("create user: %w", err)
	}
	detail := "role " + string(u.Role)
	if u.OrgID != 0 {
		detail += ", organisation " + strconv.FormatInt(u.OrgID, 10)
	}
	h.audit(ctx, c, "user.create", u.Name, detail)
	return created{location: "/api/v1/users/" + strconv.FormatInt(u.ID, 10), value: toUserJSON(u)}, nil
}

// userPatch is the body of a change; absent fields stay as they are.
type userPatch struct {
	Role     *string `json:"role"`
	Language *string `json:"language"`
	Disabled *bool   `json:"disabled"`
}

func (h *handler) updateUser(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	u, err := h.pathUser(r)
	if err != nil {
		return nil, err
	}
	var in userPatch
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.Role == nil && in.Language == nil && in.Disabled == nil {
		return nil, badParameterText("body", i18n.M("api.error.user.nochange"))
	}
	// An administrator cannot lock themself out, which also keeps the last
	// administrator an administrator.
	role := u.Role
	if in.Role != nil {
		role = auth.Role(*in.Role)
	}
	if err := auth.CheckSelfChange(c.user.ID, u, in.Disabled != nil && *in.Disabled, role); err != nil {
		return nil, errorText(http.StatusConflict, "own_account", "", i18n.M("api.error.user.self"))
	}
	// changes are audited one by one with the console's actions.
	type change struct{ action, detail string }
	var changes []change
	endSessions := false
	if in.Role != nil && auth.Role(*in.Role) != u.Role {
		was := u.Role
		if err := auth.ChangeRole(&u, role); errors.Is(err, auth.ErrOrganisationNeeded) {
			return nil, badParameterText("role", i18n.M("api.error.user.constituent"))
		} else if err != nil {
			return nil, badParameterText("role", i18n.M("api.error.user.role"))
		}
		changes = append(changes, change{"user.role", string(was) + " → " + string(role)})
		endSessions = true
	}
	if in.Language != nil && *in.Language != u.Language {
		if err := checkLanguage(*in.Language); err != nil {
			return nil, err
		}
		changes = append(changes, change{"user.language", u.Language + " → " + *in.Language})
		u.Language = *in.Language
	}
	if in.Disabled != nil && *in.Disabled != u.Disabled {
		u.Disabled = *in.Disabled
		if u.Disabled {
			changes, endSessions = append(changes, change{"user.disable", ""}), true
		} else {
			changes = append(changes, change{"user.enable", ""})
		}
	}
	if len(changes) == 0 {
		return toUserJSON(u), nil
	}
	ctx := r.Context()
	if err := h.store.UpdateUser(ctx, u); errors.Is(err, store.ErrNotFound) {
		return nil, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.user.notfound"))
	} else if err != nil {
		return nil, fmt.Errorf("update user %s: %w", u.Name, err)
	}
	if endSessions {
		// A disabled account or one with a new role signs in again; its
		// tokens are refused or checked against the new role anyway.
		if err := h.store.DeleteUserSessions(ctx, u.ID); err != nil {
			h.log.Error("end sessions of changed user", "user", u.Name, "err", err)
		}
	}
	for _, ch := range changes {
		h.audit(ctx, c, ch.action, u.Name, ch.detail)
	}
	return toUserJSON(u), nil
}
