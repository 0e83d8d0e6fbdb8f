package api

// Disabling an organisation and enabling it again.

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/vigil-cert/vigil/internal/store"
)

// setOrganisationDisabled returns the handler that disables the
// organisation of the path (disabled) or enables it again, as the
// console's organisation page does: a disabled organisation keeps its data
// and is still tagged, but is sent no notifications and its accounts
// cannot sign in to the portal or use their tokens. Setting what is set
// already changes nothing and is not audited.
func setOrganisationDisabled(disabled bool) func(h *handler, r *http.Request, c *caller) (any, error) {
	return func(h *handler, r *http.Request, c *caller) (any, error) {
		if err := checkParams(r.URL.Query(), nil); err != nil {
			return nil, err
		}
		o, err := h.pathOrganisation(r)
		if err != nil {
			return nil, err
		}
		ctx := r.Context()
		if err := h.store.SetOrganisationDisabled(ctx, o.ID, disabled); errors.Is(err, store.ErrNotFound) {
			return nil, errNotFound("no organisation with this id")
		} else if err != nil {
			return nil, fmt.Errorf("set organisation %s disabled: %w", o.Handle, err)
		}
		if o.Disabled != disabled {
			action := "organisation.enable"
			if disabled {
				action = "organisation.disable"
				h.endOrganisationSessions(r, o.ID)
			}
			h.audit(ctx, c, action, o.Handle, o.Name)
			h.constituencyChangedNow(ctx)
		}
		o.Disabled = disabled
		return toTeamOrganisation(o), nil
	}
}

// endOrganisationSessions ends the console sessions of the accounts of the
// organisation id; a failure is logged, since the disable is made and the
// portal refuses a disabled organisation's sessions anyway.
func (h *handler) endOrganisationSessions(r *http.Request, id int64) {
	users, err := h.store.ListUsers(r.Context())
	if err != nil {
		h.log.Error("end sessions of a disabled organisation", "organisation", id, "err", err)
		return
	}
	for _, u := range users {
		if u.OrgID != id {
			continue
		}
		if err := h.store.DeleteUserSessions(r.Context(), u.ID); err != nil {
			h.log.Error("end sessions of a disabled organisation", "user", u.Name, "err", err)
		}
	}
}
