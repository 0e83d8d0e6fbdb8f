package console

import (
	"context"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/alert"
)

// The pipeline alerts in the triage queue: what the queue shows of each
// alert (its organisation, classification, counter), and what an
// incident opened from alerts takes of them.

// alertStore is what the queue reads of the alerts; the database has it
// (database.DB.AlertsOfReports), a store without alerts shows none.
type alertStore interface {
	AlertsOfReports(ctx context.Context, reportIDs []int64) (map[int64]alert.Alert, error)
}

// alertView is one alert as the queue shows it.
type alertView struct {
	alert.Alert
	// OrgName is the organisation's name, "" when the alert has none or
	// the organisation is gone.
	OrgName string
}

// reportAlerts returns the alerts among reports, by report id; nil when
// there are none or the store keeps no alerts.
func (c *Console) reportAlerts(ctx context.Context, reports []incident.Report) (map[int64]*alertView, error) {
	as, ok := c.store.(alertStore)
	if !ok {
		return nil, nil
	}
	var ids []int64
	for _, r := range reports {
		if r.Channel == incident.ChannelAlert {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	alerts, err := as.AlertsOfReports(ctx, ids)
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	out := make(map[int64]*alertView, len(alerts))
	for id, a := range alerts {
		v := &alertView{Alert: a}
		if a.OrgID != 0 {
			name, seen := names[a.OrgID]
			if !seen {
				if o, err := c.store.GetOrganisation(ctx, a.OrgID); err == nil {
					name = o.Name
				}
				names[a.OrgID] = name
			}
			v.OrgName = name
		}
		out[id] = v
	}
	return out, nil
}

// fromAlerts fills an incident opened from reports with what their
// alerts say: every alert's organisation and, when the first report is
// an alert (whose kind the incident takes otherwise), its classification
// and severity. Nothing changes when no report is an alert.
func (c *Console) fromAlerts(ctx context.Context, inc *incident.Incident, ids []int64) error {
	as, ok := c.store.(alertStore)
	if !ok {
		return nil
	}
	alerts, err := as.AlertsOfReports(ctx, ids)
	if err != nil || len(alerts) == 0 {
		return err
	}
	if a, ok := alerts[ids[0]]; ok {
		inc.Kind, inc.Taxonomy, inc.Type, inc.Severity = alert.KindOf(a.Type), a.Taxonomy, a.Type, a.Severity
	}
	for _, id := range ids {
		a, ok := alerts[id]
		if !ok {
			continue
		}
		if a.OrgID != 0 && !containsID(inc.OrgIDs, a.OrgID) {
			inc.OrgIDs = append(inc.OrgIDs, a.OrgID)
		}
	}
	return nil
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
