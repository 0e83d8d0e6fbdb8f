package api

// Disabling an organisation and enabling it again.

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/i18n"
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
		ch, err := constituency.SetDisabled(ctx, h.store, o, disabled)
		if errors.Is(err, store.ErrNotFound) {
			return nil, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.org.notfound"))
		} else if err != nil {
			return nil, fmt.Errorf("set organisation %s disabled: %w", o.Handle, err)
		}
		if ch.Changed {
			if ch.SessionsErr != nil {
				h.log.Error("end sessions of a disabled organisation", "organisation", o.Handle, "err", ch.SessionsErr)
			}
			h.audit(ctx, c, ch.Action, ch.Target, ch.Detail)
			h.constituencyChangedNow(ctx)
		}
		o.Disabled = disabled
		return toTeamOrganisation(o), nil
	}
}
