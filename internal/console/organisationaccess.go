package console

// Disabling an organisation and enabling it again.

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store"
)

// setOrganisationDisabled returns the handler that disables the
// organisation of the path (disabled) or enables it again: a disabled
// organisation keeps its data and is still tagged, but is sent no
// notifications and its accounts cannot sign in to the portal. The
// directory is reloaded at once, so "who owns this?" shows it.
func (c *Console) setOrganisationDisabled(disabled bool) func(http.ResponseWriter, *http.Request, *visit) {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		o, ok := c.pathOrganisation(w, r, v)
		if !ok {
			return
		}
		ctx := r.Context()
		err := c.store.SetOrganisationDisabled(ctx, o.ID, disabled)
		switch {
		case errors.Is(err, store.ErrNotFound):
			c.notFound(w, r, v)
			return
		case err != nil:
			c.fail(w, r, v, err)
			return
		}
		path := "/constituency/" + strconv.FormatInt(o.ID, 10)
		if o.Disabled == disabled {
			redirectDone(w, r, path, "organisation") // nothing changed
			return
		}
		if disabled {
			if err := c.endOrganisationSessions(r, o.ID); err != nil {
				c.logger.Error("end sessions of a disabled organisation", "organisation", o.Handle, "err", err)
			}
			c.audit(ctx, v, "organisation.disable", o.Handle, o.Name)
			c.constituencyChangedNow(ctx)
			redirectDone(w, r, path, "organisation-disabled")
			return
		}
		c.audit(ctx, v, "organisation.enable", o.Handle, o.Name)
		c.constituencyChangedNow(ctx)
		redirectDone(w, r, path, "organisation-enabled")
	}
}

// endOrganisationSessions ends the portal sessions of the accounts of the
// organisation id, as disabling an account ends its own.
func (c *Console) endOrganisationSessions(r *http.Request, id int64) error {
	users, err := c.store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.OrgID == id {
			if err := c.store.DeleteUserSessions(r.Context(), u.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// organisationAllowsLogin refuses, once the password (and second factor)
// are proven, the login of a constituent whose organisation is disabled,
// with a message that says so; it reports whether the login may go on.
// Only someone who knows the password learns that the organisation is
// disabled.
func (c *Console) organisationAllowsLogin(w http.ResponseWriter, r *http.Request, v *visit, u auth.User, next string) bool {
	if u.OrgID == 0 {
		return true
	}
	o, err := c.store.GetOrganisation(r.Context(), u.OrgID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, v, err)
		return false
	}
	if err == nil && o.Disabled {
		e := auth.AuditEntry{UserID: u.ID, Actor: u.Name, Action: "login.refused", Target: u.Name,
			Detail: "organisation " + o.Handle + " is disabled, from " + auth.ClientAddress(r)}
		if err := auth.Record(r.Context(), c.store, e); err != nil {
			c.logger.Error("audit", "action", e.Action, "err", err)
		}
		c.render(w, r, v, http.StatusForbidden, "login", msgTitleLogin, loginPage{Next: next}, "", msgLoginOrganisationDisabled)
		return false
	}
	return true
}
