package incidentdb

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// ReportObservables returns the observables of each report of ids, by
// report id, in one query on the reports' primary key: what a list of
// reports (whose rows carry none) shows of them.
func (s *Store) ReportObservables(ctx context.Context, ids []int64) (map[int64][]extract.Observable, error) {
	out := make(map[int64][]extract.Observable, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	a := s.db.Dialect().Args()
	cond := sqlkit.In(a, "report_id", ids)
	_, err := sqlkit.All(ctx, s.db, `SELECT report_id, kind, value FROM report_observables WHERE `+cond+
		` ORDER BY report_id, kind, value`, a.List(), func(row sqlkit.Row) (struct{}, error) {
		var id int64
		var o extract.Observable
		if err := row.Scan(&id, &o.Kind, &o.Value); err != nil {
			return struct{}{}, err
		}
		out[id] = append(out[id], o)
		return struct{}{}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("report observables: %w", err)
	}
	return out, nil
}
