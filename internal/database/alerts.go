package database

import (
	"context"

	"github.com/vigil-cert/vigil/internal/incident/alert"
)

// AlertsOfReports returns the pipeline alerts of the reports given, by
// report id: what the triage queue shows of each alert.
func (d *DB) AlertsOfReports(ctx context.Context, reportIDs []int64) (map[int64]alert.Alert, error) {
	return d.Alerts.AlertsOfReports(ctx, reportIDs)
}
