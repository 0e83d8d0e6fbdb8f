package constituencydb_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb/constituencytest"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/notify/notifydb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// The accounts' schema after the constituency's, as the database has
// them: users refer to organisations, and an organisation with users is
// not deleted.

func TestContractSQLite(t *testing.T) {
	constituencytest.Run(t, func(t *testing.T) (store.Store, constituency.Organisations) {
		st := dbtest.SQLite(t, database.Schemas...)
		return st, database.Constituency(st.DB())
	})
}

func TestContractPostgres(t *testing.T) {
	constituencytest.Run(t, func(t *testing.T) (store.Store, constituency.Organisations) {
		st := dbtest.Postgres(t, database.Schemas...)
		return st, database.Constituency(st.DB())
	})
}

func TestHookRefusalRollsBackSQLite(t *testing.T) {
	testHookRefusalRollsBack(t, dbtest.SQLite(t, database.Schemas...))
}

func TestHookRefusalRollsBackPostgres(t *testing.T) {
	testHookRefusalRollsBack(t, dbtest.Postgres(t, database.Schemas...))
}

// testHookRefusalRollsBack: a hook that fails after the organisation's
// row and another hook's work are gone rolls the whole delete back (row,
// holdings, the other hook's deletion, the version and the handle's
// retirement), and so does a hook that refuses before; the error is the
// hook's. With hooks that accept, the same delete goes through.
func testHookRefusalRollsBack(t *testing.T, st store.Store) {
	ctx := t.Context()
	o := constituency.Organisation{Handle: "kept", Name: "Kept", Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}
	if err := constituencydb.New(st.DB()).CreateOrganisation(ctx, &o); err != nil {
		t.Fatalf("CreateOrganisation: %v", err)
	}
	settings := notifydb.New(st.DB(), st)
	if err := settings.PutNotificationPolicy(ctx, notify.Policy{OrgID: o.ID, Enabled: true, Digest: notify.DigestDaily}); err != nil {
		t.Fatalf("PutNotificationPolicy: %v", err)
	}
	refused := errors.New("refused by the hook")
	var saw []string
	record := func(name string, err error) func(context.Context, sqlkit.DB, int64, string) error {
		return func(_ context.Context, _ sqlkit.DB, id int64, handle string) error {
			if id != o.ID || handle != o.Handle {
				t.Errorf("hook %s called with %d %q, want %d %q", name, id, handle, o.ID, o.Handle)
			}
			saw = append(saw, name)
			return err
		}
	}
	for _, tt := range []struct {
		name  string
		hooks []constituencydb.DeleteHook
		want  []string
	}{
		{"a hook refuses before the row goes", []constituencydb.DeleteHook{
			{Name: "first", Refuse: record("first refuse", nil), Forget: record("first forget", nil)},
			{Name: "second", Refuse: record("second refuse", refused)},
		}, []string{"first refuse", "second refuse"}},
		{"a hook fails after the row and the policy went", []constituencydb.DeleteHook{
			{Name: "policy", Forget: notifydb.ForgetOrganisation},
			{Name: "failing", Refuse: record("refuse", nil), Forget: record("forget", refused)},
		}, []string{"refuse", "forget"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			saw = nil
			c := constituencydb.New(st.DB(), tt.hooks...)
			v, err := c.ConstituencyVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.DeleteOrganisation(ctx, o.ID); !errors.Is(err, refused) {
				t.Errorf("DeleteOrganisation = %v, want the hook's error", err)
			}
			if !slices.Equal(saw, tt.want) {
				t.Errorf("hooks ran %q, want %q", saw, tt.want)
			}
			got, err := c.GetOrganisationByHandle(ctx, o.Handle)
			if err != nil || len(got.Networks) != 1 {
				t.Errorf("organisation after a refused delete = %+v, %v; want it with its network", got, err)
			}
			if after, _ := c.ConstituencyVersion(ctx); after != v {
				t.Errorf("version %d after a refused delete, want %d", after, v)
			}
			if _, err := settings.GetNotificationPolicy(ctx, o.ID); err != nil {
				t.Errorf("policy after a refused delete: %v", err)
			}
		})
	}
	t.Run("the database's hooks", func(t *testing.T) {
		if err := database.Constituency(st.DB()).DeleteOrganisation(ctx, o.ID); err != nil {
			t.Fatalf("DeleteOrganisation: %v", err)
		}
		if _, err := settings.GetNotificationPolicy(ctx, o.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("policy after the delete: %v, want ErrNotFound", err)
		}
		again := constituency.Organisation{Handle: o.Handle, Name: "Again"}
		var retired *constituency.RetiredHandleError
		if err := constituencydb.New(st.DB()).CreateOrganisation(ctx, &again); !errors.As(err, &retired) {
			t.Errorf("CreateOrganisation(%s) after its delete = %v, want a RetiredHandleError", o.Handle, err)
		}
	})
}

func TestImportRefusedByAccountsSQLite(t *testing.T) {
	testImportRefusedByAccounts(t, dbtest.SQLite(t, database.Schemas...))
}

func TestImportRefusedByAccountsPostgres(t *testing.T) {
	testImportRefusedByAccounts(t, dbtest.Postgres(t, database.Schemas...))
}

// testImportRefusedByAccounts: a replace that would delete an organisation
// accounts belong to is refused as a whole with a DeleteRefusedError
// naming it, which is a conflict; nothing of the import is applied.
func testImportRefusedByAccounts(t *testing.T, st store.Store) {
	ctx := t.Context()
	orgs := database.Constituency(st.DB())
	o := constituency.Organisation{Handle: "staffed", Name: "Staffed", Language: "en"}
	if err := orgs.CreateOrganisation(ctx, &o); err != nil {
		t.Fatalf("CreateOrganisation: %v", err)
	}
	u := auth.User{Name: "carla", Email: "carla@staffed.example", Role: auth.RoleConstituent, OrgID: o.ID, Language: "en", PasswordHash: "unused"}
	if err := authdb.New(st.DB()).CreateUser(ctx, &u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	other := constituency.Organisation{Handle: "other", Name: "Other", Language: "en"}
	_, err := orgs.ImportOrganisations(ctx, []constituency.Organisation{other}, true)
	var refused *constituency.DeleteRefusedError
	if !errors.As(err, &refused) || refused.Handle != "staffed" || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("ImportOrganisations = %v, want a DeleteRefusedError for staffed", err)
	}
	if _, err := orgs.GetOrganisationByHandle(ctx, "other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused import created other: %v", err)
	}
	if _, err := orgs.GetOrganisation(ctx, o.ID); err != nil {
		t.Errorf("the refused import deleted staffed: %v", err)
	}
}
