package constituency

import (
	"context"
	"fmt"
	"slices"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
)

// DeleteRefusedError is an import with replace that would delete the
// organisation Handle while a capability refuses it (its delete hook's
// error, Err, wraps store.ErrConflict): accounts still belong to it, and
// must be moved to another organisation or deleted first. Nothing of the
// import is applied. It matches store.ErrConflict with errors.Is.
type DeleteRefusedError struct {
	Handle string
	Err    error
}

func (e *DeleteRefusedError) Error() string {
	return "delete " + e.Handle + ": " + e.Err.Error()
}

func (e *DeleteRefusedError) Unwrap() error { return e.Err }

// accountLister is the part of a store that lists accounts; CheckImport
// uses it, when the store has it, to predict a deletion refused.
type accountLister interface {
	ListUsers(ctx context.Context) ([]auth.User, error)
}

// accountProblems are the errors of the plan's deletions of organisations
// that accounts still belong to: the import would be refused, as
// DeleteRefusedError says.
func accountProblems(ctx context.Context, s ImportSource, plan ImportPlan, stored []Organisation) ([]Problem, error) {
	l, ok := s.(accountLister)
	if !ok || plan.Deleted == 0 {
		return nil, nil
	}
	users, err := l.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	var problems []Problem
	for _, step := range plan.Steps {
		if step.Action != ActionDelete {
			continue
		}
		i := slices.IndexFunc(stored, func(o Organisation) bool { return o.Handle == step.Handle })
		if i < 0 || !slices.ContainsFunc(users, func(u auth.User) bool { return u.OrgID == stored[i].ID }) {
			continue
		}
		m := i18n.M("import.error.accounts", step.Handle)
		problems = append(problems, Problem{Severity: SeverityError, Field: FieldHandle, Value: step.Handle,
			Reason: m.String(), Message: m, Handle: step.Handle})
	}
	return problems, nil
}
