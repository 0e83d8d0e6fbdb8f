// Package tlp is the Traffic Light Protocol 2.0 (FIRST): the label that
// says who may be told. Events, incidents and publications all carry
// one; this package is where the labels, their order and the way feeds
// and people write them are decided, once.
package tlp

import (
	"slices"
	"strings"
)

// Label is a TLP 2.0 label.
type Label string

// The TLP 2.0 labels.
const (
	Clear       Label = "CLEAR"
	Green       Label = "GREEN"
	Amber       Label = "AMBER"
	AmberStrict Label = "AMBER+STRICT"
	Red         Label = "RED"
)

// Labels lists the labels from the least to the most restricted.
var Labels = []Label{Clear, Green, Amber, AmberStrict, Red}

// Valid reports whether l is a TLP 2.0 label as stored (upper case, no
// "TLP:" prefix).
func (l Label) Valid() bool { return slices.Contains(Labels, l) }

// Rank is l's place in Labels (0 for CLEAR); -1 for no label.
func (l Label) Rank() int { return slices.Index(Labels, l) }

// Parse reads a label as feeds and people write it: in any case, with
// or without the "TLP:" prefix, and TLP 1.0's WHITE as CLEAR.
func Parse(s string) (Label, bool) {
	v := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "TLP:")
	if v == "WHITE" {
		return Clear, true
	}
	l := Label(v)
	return l, l.Valid()
}

// Names is the labels as a list a message can show: "CLEAR, GREEN, …".
func Names() string { return strings.Join(Strings(), ", ") }

// Strings is the labels as strings, for a form's choices.
func Strings() []string {
	out := make([]string, len(Labels))
	for i, l := range Labels {
		out[i] = string(l)
	}
	return out
}
