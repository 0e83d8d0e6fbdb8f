package cli

import (
	"context"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/alert"
	"github.com/vigil-cert/vigil/internal/lease"
)

// startAlerts runs the pipeline alerts (incident_alerts) under a lease:
// of several processes on one database, one follows the events (a second
// would write nothing, its cursor behind the first's).
func (a *app) startAlerts(group *jobs) {
	cfg := a.cfg.IncidentAlerts
	worker := &alert.Worker{Events: a.store, Store: a.store.Alerts, Service: &incident.Service{Store: a.store, Audit: a.store},
		Organisations: a.store, Rules: cfg.Rules, Log: a.log.With("job", "incident alerts")}
	group.run("incident alerts", func(ctx context.Context) error {
		return lease.Hold(ctx, a.store, "incident-alerts", lease.Options{Logger: a.log}, func(ctx context.Context) error {
			return worker.Run(ctx, cfg.Every())
		})
	})
}
