package auth

import (
	"errors"
	"testing"
)

func TestRoleRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		role Role
		org  int64
		want error
	}{
		{"constituent with organisation", RoleConstituent, 3, nil},
		{"constituent without", RoleConstituent, 0, ErrOrganisationNeeded},
		{"analyst without", RoleAnalyst, 0, nil},
		{"admin with organisation", RoleAdmin, 3, ErrTeamOrganisation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckOrganisationOfRole(tc.role, tc.org); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}

	t.Run("change role", func(t *testing.T) {
		u := User{ID: 1, Role: RoleConstituent, OrgID: 7}
		if err := ChangeRole(&u, RoleAnalyst); err != nil || u.OrgID != 0 || u.Role != RoleAnalyst {
			t.Errorf("constituent to analyst: %v, %+v", err, u)
		}
		if err := ChangeRole(&u, RoleConstituent); !errors.Is(err, ErrOrganisationNeeded) || u.Role != RoleAnalyst {
			t.Errorf("analyst to constituent: %v, %+v", err, u)
		}
		if err := ChangeRole(&u, "root"); !errors.Is(err, ErrUnknownRole) {
			t.Errorf("unknown role: %v", err)
		}
	})

	t.Run("own account", func(t *testing.T) {
		u := User{ID: 1, Role: RoleAdmin}
		if err := CheckSelfChange(1, u, false, RoleAnalyst); !errors.Is(err, ErrOwnAccount) {
			t.Errorf("own role: %v", err)
		}
		if err := CheckSelfChange(1, u, true, RoleAdmin); !errors.Is(err, ErrOwnAccount) {
			t.Errorf("own disable: %v", err)
		}
		if err := CheckSelfChange(1, u, false, RoleAdmin); err != nil {
			t.Errorf("no change: %v", err)
		}
		if err := CheckSelfChange(2, u, true, RoleAnalyst); err != nil {
			t.Errorf("another's account: %v", err)
		}
	})
}
