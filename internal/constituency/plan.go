package constituency

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
)

// What an import of a constituency file would do, said before it is done:
// the console's preview, the API's dry run and `vigil constituency import
// --dry-run` all show this plan, made here once.

// The actions of an ImportStep.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// ImportStep is one organisation an import creates, updates or deletes.
type ImportStep struct {
	Action string
	Handle string
	Name   string
}

// Label is the step's organisation as a preview lists it: "handle (name)".
func (s ImportStep) Label() string { return s.Handle + " (" + s.Name + ")" }

// ImportPlan is what an import would do to the stored constituency.
type ImportPlan struct {
	// Steps are the creations and updates in the file's order, then the
	// deletions of a replace.
	Steps                     []ImportStep
	Created, Updated, Deleted int
	Unchanged                 int
	// Problems are those of the constituency after the import that
	// neither the file alone nor the organisations it keeps have: a
	// network of the file that a kept organisation has too. An import
	// with errors among them must not be applied.
	Problems []Problem
}

// Labels are the labels of the steps of action, in order.
func (p ImportPlan) Labels(action string) []string {
	var out []string
	for _, s := range p.Steps {
		if s.Action == action {
			out = append(out, s.Label())
		}
	}
	return out
}

// PlanImport compares the organisations read from a file (normalized and
// checked on their own, as Read returns them) with the stored ones, as
// the store's ImportOrganisations will: by handle, contacts matched by
// address and role, an unchanged organisation left alone; with replace,
// the stored organisations the file does not list are deleted.
func PlanImport(orgs, stored []Organisation, replace bool) ImportPlan {
	var plan ImportPlan
	current := make(map[string]Organisation, len(stored))
	for _, o := range stored {
		current[o.Handle] = o
	}
	inFile := make(map[string]bool, len(orgs))
	for _, o := range orgs {
		inFile[o.Handle] = true
		cur, ok := current[o.Handle]
		if !ok {
			plan.Created++
			plan.Steps = append(plan.Steps, ImportStep{ActionCreate, o.Handle, o.Name})
			continue
		}
		next := o
		next.ID, next.Created, next.Updated = cur.ID, cur.Created, cur.Updated
		next.Contacts = slices.Clone(o.Contacts)
		KeepContactIDs(cur.Contacts, next.Contacts, true)
		if SameOrganisation(&next, &cur) {
			plan.Unchanged++
			continue
		}
		plan.Updated++
		plan.Steps = append(plan.Steps, ImportStep{ActionUpdate, o.Handle, o.Name})
	}
	var kept []Organisation
	for _, o := range stored {
		switch {
		case inFile[o.Handle]:
		case replace:
			plan.Deleted++
			plan.Steps = append(plan.Steps, ImportStep{ActionDelete, o.Handle, o.Name})
		default:
			kept = append(kept, o)
		}
	}
	if len(kept) == 0 {
		return plan
	}
	before := map[Problem]int{}
	for _, pr := range append(Check(kept), Check(slices.Clone(orgs))...) {
		before[pr]++
	}
	for _, pr := range Check(append(slices.Clone(kept), orgs...)) {
		if before[pr] > 0 {
			before[pr]--
			continue
		}
		plan.Problems = append(plan.Problems, pr)
	}
	return plan
}

// ImportSource is what CheckImport reads of the store.
type ImportSource interface {
	ConstituencyVersion(ctx context.Context) (int64, error)
	ListOrganisations(ctx context.Context, q OrganisationQuery) ([]Organisation, error)
}

// CheckedImport is a file read and planned against the stored
// constituency: a dry run.
type CheckedImport struct {
	Orgs []Organisation
	// Notes are what Read found worth saying about the file alone.
	Notes []Problem
	Plan  ImportPlan
	// Version is the constituency's version the plan was made against:
	// applying it is what the plan says only while the version is the
	// same.
	Version int64
}

// ErrUnreadable is a file CheckImport could not read at all (too large,
// or a failing stream), as opposed to one with problems.
var ErrUnreadable = errors.New("the file could not be read")

// CheckImport reads a constituency file (Read: an *InvalidError with every
// problem of the file) and plans its import into the stored constituency.
// When s lists accounts too, a deletion of an organisation that accounts
// belong to is an error of the plan (see DeleteRefusedError). It writes
// nothing; the import may be applied (ImportOrganisations of
// Orgs) only when the plan has no errors.
func CheckImport(ctx context.Context, s ImportSource, r io.Reader, f Format, replace bool) (CheckedImport, error) {
	orgs, notes, err := Read(r, f)
	var invalid *InvalidError
	if errors.As(err, &invalid) {
		return CheckedImport{}, err
	}
	if err != nil {
		return CheckedImport{}, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	// The version is read before the organisations, so that a change
	// between the two reads makes the plan look older, never newer.
	version, err := s.ConstituencyVersion(ctx)
	if err != nil {
		return CheckedImport{}, fmt.Errorf("constituency version: %w", err)
	}
	stored, err := s.ListOrganisations(ctx, OrganisationQuery{})
	if err != nil {
		return CheckedImport{}, fmt.Errorf("list organisations: %w", err)
	}
	plan := PlanImport(orgs, stored, replace)
	refused, err := accountProblems(ctx, s, plan, stored)
	if err != nil {
		return CheckedImport{}, err
	}
	plan.Problems = append(plan.Problems, refused...)
	return CheckedImport{Orgs: orgs, Notes: notes, Plan: plan, Version: version}, nil
}

// ImportDetail is the audit detail of an applied import.
func ImportDetail(replace bool, res ImportResult) string {
	mode := "merge"
	if replace {
		mode = "replace"
	}
	return fmt.Sprintf("%s: %d created, %d updated, %d deleted", mode, res.Created, res.Updated, res.Deleted)
}
