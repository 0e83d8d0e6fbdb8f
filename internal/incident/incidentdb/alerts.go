package incidentdb

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// AppendToReport adds text (after a line break) and observables to a
// report, in a transaction the caller opened: a pipeline alert
// (internal/incident/alert) gathers the later events of its organisation
// and type this way. Text past incident.MaxTextBytes and observables
// past incident.MaxObservables are left out, so an alert of a million
// events stays a report of bounded size.
func AppendToReport(ctx context.Context, tx sqlkit.DB, id int64, text string, obs []extract.Observable) error {
	if text != "" {
		// The bound is in bytes; length() counts characters in both.
		bytes := "octet_length(text)"
		if tx.Dialect() == sqlkit.SQLite {
			bytes = "length(CAST(text AS BLOB))"
		}
		_, err := tx.Exec(ctx, `UPDATE reports SET text = CASE WHEN text = '' THEN ? ELSE text || ? END
			WHERE id = ? AND `+bytes+` + ? <= ?`, text, "\n"+text, id, len(text)+1, incident.MaxTextBytes)
		if err != nil {
			return fmt.Errorf("append to report %d: %w", id, err)
		}
	}
	if len(obs) == 0 {
		return nil
	}
	var have int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM report_observables WHERE report_id = ?`, id).Scan(&have); err != nil {
		return fmt.Errorf("append to report %d: %w", id, err)
	}
	if room := incident.MaxObservables - have; len(obs) > room {
		obs = obs[:max(room, 0)]
	}
	if err := insertObservables(ctx, tx, id, obs); err != nil {
		return fmt.Errorf("append to report %d: %w", id, err)
	}
	return nil
}
