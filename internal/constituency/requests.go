package constituency

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/vigil-cert/vigil/internal/store"
)

// ChangeRequestStore is what MarkRequestDone reads and writes.
type ChangeRequestStore interface {
	GetOrganisation(ctx context.Context, id int64) (Organisation, error)
	ListChangeRequests(ctx context.Context, orgID int64, includeDone bool) ([]ChangeRequest, error)
	MarkChangeRequestDone(ctx context.Context, id int64) error
}

// MarkRequestDone marks the change request id handled (the console's
// button and the API's route) and returns it, with the audit entry's
// target (its organisation's handle) and detail. store.ErrNotFound when
// there is no such request.
func MarkRequestDone(ctx context.Context, s ChangeRequestStore, id int64) (req ChangeRequest, target, detail string, err error) {
	// The request is looked up for its organisation, which the audit log
	// names; the store has no single-request read.
	reqs, err := s.ListChangeRequests(ctx, 0, true)
	if err != nil {
		return req, "", "", fmt.Errorf("change requests: %w", err)
	}
	found := false
	for _, r := range reqs {
		if r.ID == id {
			req, found = r, true
			break
		}
	}
	if !found {
		return req, "", "", store.ErrNotFound
	}
	if err := s.MarkChangeRequestDone(ctx, id); err != nil {
		return req, "", "", err
	}
	req.Done = true
	target = strconv.FormatInt(req.OrgID, 10)
	if o, err := s.GetOrganisation(ctx, req.OrgID); err == nil {
		target = o.Handle
	}
	return req, target, fmt.Sprintf("request %d by %s", req.ID, req.Actor), nil
}

// OpenFirst puts open change requests before handled ones, each group
// keeping its order (newest first, as the store lists them).
func OpenFirst(reqs []ChangeRequest) {
	slices.SortStableFunc(reqs, func(a, b ChangeRequest) int {
		switch {
		case a.Done == b.Done:
			return 0
		case !a.Done:
			return -1
		}
		return 1
	})
}
