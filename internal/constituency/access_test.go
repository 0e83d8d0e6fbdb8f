package constituency

import (
	"context"
	"slices"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
)

// accessStore is an AccessStore in memory.
type accessStore struct {
	disabled map[int64]bool
	users    []auth.User
	ended    []int64
}

func (s *accessStore) SetOrganisationDisabled(_ context.Context, id int64, disabled bool) (bool, error) {
	if s.disabled[id] == disabled {
		return false, nil
	}
	s.disabled[id] = disabled
	return true, nil
}

func (s *accessStore) ListUsers(context.Context) ([]auth.User, error) { return s.users, nil }

func (s *accessStore) DeleteUserSessions(_ context.Context, id int64) error {
	s.ended = append(s.ended, id)
	return nil
}

// TestSetDisabledDecidesFromTheStore: whether a disable is audited and
// ends sessions follows what the store changed, not the organisation as
// read before: a second disable from a stale page (o.Disabled still
// false) changes nothing and ends no sessions, as if a request at the
// same time had won.
func TestSetDisabledDecidesFromTheStore(t *testing.T) {
	s := &accessStore{disabled: map[int64]bool{}, users: []auth.User{{ID: 1, OrgID: 7}, {ID: 2, OrgID: 8}, {ID: 3}, {ID: 4, OrgID: 7}}}
	stale := Organisation{ID: 7, Handle: "acme", Name: "Acme"}
	ch, err := SetDisabled(t.Context(), s, stale, true)
	if err != nil || !ch.Changed || ch.Action != "organisation.disable" || ch.Target != "acme" || ch.Detail != "Acme" {
		t.Fatalf("first disable = %+v, %v", ch, err)
	}
	if !slices.Equal(s.ended, []int64{1, 4}) {
		t.Errorf("sessions ended of %v, want the organisation's accounts 1 and 4", s.ended)
	}
	s.ended = nil
	ch, err = SetDisabled(t.Context(), s, stale, true)
	if err != nil || ch.Changed || len(s.ended) != 0 {
		t.Errorf("second disable from a stale read = %+v, %v, sessions ended %v; want no change", ch, err, s.ended)
	}
	ch, err = SetDisabled(t.Context(), s, stale, false)
	if err != nil || !ch.Changed || ch.Action != "organisation.enable" || len(s.ended) != 0 {
		t.Errorf("enable = %+v, %v, sessions ended %v", ch, err, s.ended)
	}
}
