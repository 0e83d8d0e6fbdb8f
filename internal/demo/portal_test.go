package demo_test

import (
	"context"
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// The demo constituent's portal shows at least one incident of its
// organisation and one report it sent.
func TestDemoConstituentFollowsIncidents(t *testing.T) {
	ctx := context.Background()
	st := database.On(dbtest.SQLite(t, database.Schemas...))
	set, err := demo.Prepare(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if err := set.Load(ctx, st); err != nil {
		t.Fatal(err)
	}
	u, err := st.GetUserByName(ctx, demo.ConstituentUser)
	if err != nil {
		t.Fatal(err)
	}
	incs, err := incident.ConstituentIncidents(ctx, st, u.OrgID, 50, 0)
	if err != nil || len(incs.Items) == 0 {
		t.Errorf("the demo constituent's incidents: %+v, %v", incs, err)
	}
	reps, err := incident.ConstituentReports(ctx, st, u.OrgID, 50, 0)
	if err != nil || len(reps.Items) == 0 {
		t.Errorf("the demo constituent's reports: %+v, %v", reps, err)
	}
}
