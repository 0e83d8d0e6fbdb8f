package incidentdb

// The incidents' part in deleting an organisation.

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// RefuseOrganisationDelete refuses, in tx, the delete of an organisation
// that an incident still being handled concerns (any status but closed):
// the error wraps incident.ErrOrganisationHasIncidents and
// store.ErrConflict. Deleting it would take it off a case the team is
// working on; the incident must be closed (or the organisation taken off
// it) first. It is the incidents' constituencydb.DeleteHook Refuse.
func RefuseOrganisationDelete(ctx context.Context, tx sqlkit.DB, id int64, _ string) error {
	var open int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM incident_orgs AS o JOIN incidents AS i ON i.id = o.incident_id
		WHERE o.org_id = ? AND i.status <> ?`, id, string(incident.StatusClosed)).Scan(&open)
	if err != nil {
		return fmt.Errorf("count the organisation's open incidents: %w", err)
	}
	if open > 0 {
		return fmt.Errorf("%w (%d); close them or take it off them first: %w", incident.ErrOrganisationHasIncidents, open, store.ErrConflict)
	}
	return nil
}

// ForgetOrganisation, in the delete's transaction, takes the deleted
// organisation off the closed incidents that concerned it and off the
// reports that named it as the reporter's: their history stays (the
// timeline still says what happened), but an id that names no
// organisation is kept nowhere, so that no later organisation could be
// mistaken for it. It is the incidents' constituencydb.DeleteHook Forget.
func ForgetOrganisation(ctx context.Context, tx sqlkit.DB, id int64, _ string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM incident_orgs WHERE org_id = ?`, id); err != nil {
		return fmt.Errorf("forget the organisation's incidents: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE reports SET org_id = NULL WHERE org_id = ?`, id); err != nil {
		return fmt.Errorf("forget the organisation's reports: %w", err)
	}
	return nil
}
