package constituencytest

// The contract of change requests.

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store"
)

func testChangeRequests(t *testing.T, s Stores) {
	ctx := t.Context()
	a := createOrg(t, s, newOrg("a"))
	b := createOrg(t, s, newOrg("b"))
	var reqs []*constituency.ChangeRequest
	for i, org := range []int64{a.ID, b.ID, a.ID} {
		r := &constituency.ChangeRequest{OrgID: org, UserID: int64(10 + i), Actor: fmt.Sprint("user", i), Text: fmt.Sprint("please change ", i)}
		if i == 0 {
			r.Created = base
		}
		if err := s.AddChangeRequest(ctx, r); err != nil {
			t.Fatalf("AddChangeRequest: %v", err)
		}
		if r.ID == 0 || r.Created.IsZero() {
			t.Errorf("AddChangeRequest left ID %d, Created %v", r.ID, r.Created)
		}
		reqs = append(reqs, r)
	}
	ids := func(list []constituency.ChangeRequest) []int64 {
		var out []int64
		for _, r := range list {
			out = append(out, r.ID)
		}
		return out
	}
	list, err := s.ListChangeRequests(ctx, a.ID, false)
	if err != nil {
		t.Fatalf("ListChangeRequests: %v", err)
	}
	if got, want := ids(list), []int64{reqs[2].ID, reqs[0].ID}; !slices.Equal(got, want) {
		t.Errorf("a's requests = %v, want %v (newest first)", got, want)
	}
	if len(list) == 2 {
		r := list[1]
		if r.OrgID != a.ID || r.UserID != 10 || r.Actor != "user0" || r.Text != "please change 0" || !r.Created.Equal(base) || r.Done {
			t.Errorf("request = %+v, want %+v", r, *reqs[0])
		}
	}
	all, err := s.ListChangeRequests(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(all), []int64{reqs[2].ID, reqs[1].ID, reqs[0].ID}; !slices.Equal(got, want) {
		t.Errorf("all requests = %v, want %v", got, want)
	}
	if err := s.MarkChangeRequestDone(ctx, reqs[0].ID); err != nil {
		t.Fatalf("MarkChangeRequestDone: %v", err)
	}
	if list, _ := s.ListChangeRequests(ctx, a.ID, false); !slices.Equal(ids(list), []int64{reqs[2].ID}) {
		t.Errorf("open requests of a = %v, want only %d", ids(list), reqs[2].ID)
	}
	withDone, err := s.ListChangeRequests(ctx, a.ID, true)
	if err != nil || len(withDone) != 2 || withDone[1].ID != reqs[0].ID || !withDone[1].Done || withDone[0].Done {
		t.Errorf("a's requests with done ones = %+v, %v", withDone, err)
	}
	if err := s.MarkChangeRequestDone(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkChangeRequestDone(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.AddChangeRequest(ctx, &constituency.ChangeRequest{OrgID: 999999, Text: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddChangeRequest(unknown organisation) = %v, want ErrNotFound", err)
	}
}
