package console

// Disabling an organisation and enabling it again.

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
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
		ch, err := constituency.SetDisabled(ctx, c.store, o, disabled)
		switch {
		case errors.Is(err, store.ErrNotFound):
			c.notFound(w, r, v)
			return
		case err != nil:
			c.fail(w, r, v, err)
			return
		}
		path := "/constituency/" + strconv.FormatInt(o.ID, 10)
		if !ch.Changed {
			redirectDone(w, r, path, "organisation") // nothing changed
			return
		}
		if ch.SessionsErr != nil {
			c.logger.Error("end sessions of a disabled organisation", "organisation", o.Handle, "err", ch.SessionsErr)
		}
		c.audit(ctx, v, ch.Action, ch.Target, ch.Detail)
		c.constituencyChangedNow(ctx)
		done := "organisation-enabled"
		if disabled {
			done = "organisation-disabled"
		}
		redirectDone(w, r, path, done)
	}
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

// organisationAllowsSession ends the session of a constituent whose
// organisation is disabled, with a message that says so, and reports
// whether the request may go on. Disabling ends the organisation's
// sessions, but one that began in the same instant would otherwise keep
// its pages (/account as well as the portal).
func (c *Console) organisationAllowsSession(w http.ResponseWriter, r *http.Request, v *visit) bool {
	if v.user.Role != auth.RoleConstituent || v.user.OrgID == 0 {
		return true
	}
	o, err := c.store.GetOrganisation(r.Context(), v.user.OrgID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, v, err)
		return false
	}
	if err != nil || !o.Disabled {
		return true
	}
	_ = c.sessions.Destroy(r.Context(), w, r)
	c.problem(w, r, v, http.StatusForbidden, msgForbiddenHeading, msgLoginOrganisationDisabled)
	return false
}
