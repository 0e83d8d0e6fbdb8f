package incidentdb

import (
	"context"
	"fmt"
	"strconv"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// IncidentAttachments returns the attachments of an incident and of the
// reports linked to it: the incident's own first, then the reports'
// oldest first, each in the order it was added.
func (s *Store) IncidentAttachments(ctx context.Context, incidentID int64, limit int) ([]incident.IncidentAttachment, error) {
	query := `SELECT a.sha256, a.name, a.content_type, a.size, 0, '', a.id FROM incident_attachments AS a WHERE a.incident_id = ?
		UNION ALL
		SELECT a.sha256, a.name, a.content_type, a.size, r.id, r.tracking, a.id FROM incident_attachments AS a
		JOIN reports AS r ON r.id = a.report_id WHERE r.incident_id = ?`
	// The order is over the union's columns: the incident's own (report
	// 0) first, then by report, each owner's in the order they were
	// added.
	query = `SELECT * FROM (` + query + `) AS u ORDER BY 5, 7`
	if limit > 0 {
		query += ` LIMIT ` + strconv.Itoa(limit)
	}
	out, err := sqlkit.All(ctx, s.db, query, []any{incidentID, incidentID}, func(row sqlkit.Row) (incident.IncidentAttachment, error) {
		var a incident.IncidentAttachment
		var id int64
		err := row.Scan(&a.SHA256, &a.Name, &a.ContentType, &a.Size, &a.ReportID, &a.Tracking, &id)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("attachments of incident %d: %w", incidentID, err)
	}
	return out, nil
}
