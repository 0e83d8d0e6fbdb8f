package constituency

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
)

// Verdict is what CheckChange found about one organisation created or
// edited by a person (in the console or through the API): the same checks
// for both, so that neither lets through what the other refuses.
type Verdict struct {
	// Invalid are Normalize's problems with the organisation on its own.
	Invalid FieldErrors
	// Taken are the handle, networks, AS numbers and domains another
	// organisation has already.
	Taken []Conflict
	// Problems are what Check finds in the constituency with the
	// organisation that it does not find without it, leaving out what
	// Taken says already; its notes (SeverityNote) are allowed. Check runs
	// only on an organisation without Invalid problems.
	Problems []Problem
}

// OK reports whether the organisation may be stored.
func (v Verdict) OK() bool {
	return len(v.Invalid) == 0 && len(v.Taken) == 0 && !HasErrors(v.Problems)
}

// Conflict is a handle, network, AS number or domain of an organisation
// that another one has already.
type Conflict struct {
	// Field is FieldHandle, FieldNetworks, FieldASNs or FieldDomains.
	Field string
	Value string
	// Owner and OwnerHandle name the organisation that has it.
	Owner       string
	OwnerHandle string
}

// CheckChange normalizes o in place (see Normalize) and checks it against
// others, the rest of the constituency (without o's stored version when
// it is an edit). An error is returned only for a failure other than o's
// problems; o must be stored only when the verdict is OK.
func CheckChange(o *Organisation, others []Organisation) (Verdict, error) {
	var v Verdict
	err := Normalize(o)
	if err != nil && !errors.As(err, &v.Invalid) {
		return v, fmt.Errorf("normalize organisation: %w", err)
	}
	// What another organisation has already is said even while other
	// fields are wrong, so that one round of corrections is enough.
	v.Taken = Conflicts(*o, others)
	if len(v.Invalid) > 0 {
		// Check needs normalized organisations.
		return v, nil
	}
	before := map[Problem]int{}
	for _, pr := range Check(others) {
		before[pr]++
	}
	for _, pr := range Check(append(slices.Clip(others), *o)) {
		if before[pr] > 0 {
			before[pr]--
			continue
		}
		// The direct conflicts are said already, better.
		if slices.ContainsFunc(v.Taken, func(t Conflict) bool { return t.Field == pr.Field && t.Value == pr.Value }) ||
			pr.Field == FieldHandle {
			continue
		}
		v.Problems = append(v.Problems, pr)
	}
	return v, nil
}

// Conflicts finds what o claims that one of others has already, and a
// handle already taken.
func Conflicts(o Organisation, others []Organisation) []Conflict {
	type owner struct{ name, handle string }
	nets := map[netip.Prefix]owner{}
	asns := map[uint32]owner{}
	domains := map[string]owner{}
	handles := map[string]owner{}
	for _, x := range others {
		who := owner{x.Name, x.Handle}
		for _, n := range x.Networks {
			nets[n] = who
		}
		for _, a := range x.ASNs {
			asns[a] = who
		}
		for _, d := range x.Domains {
			domains[d] = who
		}
		handles[x.Handle] = who
	}
	var out []Conflict
	add := func(field, value string, who owner) {
		out = append(out, Conflict{Field: field, Value: value, Owner: who.name, OwnerHandle: who.handle})
	}
	if who, ok := handles[o.Handle]; ok {
		add(FieldHandle, o.Handle, who)
	}
	for _, n := range o.Networks {
		if who, ok := nets[n]; ok {
			add(FieldNetworks, n.String(), who)
		}
	}
	for _, a := range o.ASNs {
		if who, ok := asns[a]; ok {
			add(FieldASNs, "AS"+strconv.FormatUint(uint64(a), 10), who)
		}
	}
	for _, d := range o.Domains {
		if who, ok := domains[d]; ok {
			add(FieldDomains, d, who)
		}
	}
	return out
}
