package incidentdb_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/incidentdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// AppendToReport stops adding lines at incident.MaxTextBytes bytes, also
// when the lines are not ASCII (a character is then two bytes or more).
func TestAppendToReportBoundInBytes(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		inc := incidentdb.New(st.DB())
		r := &incident.Report{Channel: incident.ChannelAlert, Kind: incident.KindMalware, Received: time.Now(), Text: "x"}
		_, g, err := (&incident.Service{}).Prepare(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := inc.ReceiveReport(ctx, r, g); err != nil {
			t.Fatal(err)
		}
		line := strings.Repeat("é", 1000) // 2,000 bytes
		for range incident.MaxTextBytes/len(line) + 10 {
			err := st.DB().Tx(ctx, func(tx sqlkit.DB) error { return incidentdb.AppendToReport(ctx, tx, r.ID, line, nil) })
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := inc.GetReport(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Text) > incident.MaxTextBytes || len(got.Text) < incident.MaxTextBytes-len(line)-1 {
			t.Errorf("the text is %d bytes, want at most %d and within a line of it", len(got.Text), incident.MaxTextBytes)
		}
	})
}
