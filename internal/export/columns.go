package export

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// HashColumn names the column holding the event's hash, its key in the store
// and in the API (/events/{hash}). It is not a harmonized field.
const HashColumn = "hash"

// DefaultColumns are the CSV columns when none are chosen: what a
// constituent needs to find and fix the host, and what an analyst needs to
// find the event again.
var DefaultColumns = []string{
	"time.source",
	"classification.taxonomy",
	"classification.type",
	"classification.identifier",
	"source.ip",
	"source.port",
	"source.asn",
	"source.as_name",
	"source.geolocation.cc",
	"source.fqdn",
	"source.url",
	"destination.ip",
	"destination.port",
	"feed.name",
	"tlp",
	HashColumn,
}

// ValidColumn reports whether name can be a column: a harmonized field, an
// extra.* field or HashColumn.
func ValidColumn(name string) bool {
	if name == HashColumn {
		return true
	}
	_, ok := event.KindOf(name)
	return ok
}

// ParseColumns reads a comma-separated list of columns as the API and the
// command line take it. Spaces around names are ignored; an unknown name or
// one given twice is an error naming it.
func ParseColumns(s string) ([]string, error) {
	var columns []string
	seen := make(map[string]bool)
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !ValidColumn(name) {
			return nil, fmt.Errorf("unknown column %q", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("column %q given twice", name)
		}
		seen[name] = true
		columns = append(columns, name)
	}
	if len(columns) == 0 {
		return nil, fmt.Errorf("no columns in %q", s)
	}
	return columns, nil
}

// FieldsPresent walks events and returns every field that occurs in them:
// first the default columns that occur, in their order, then the others
// sorted, and always HashColumn last.
func FieldsPresent(events Events) ([]string, error) {
	present := make(map[string]bool, 32)
	// The events of one report mostly have the same fields: an event
	// with the fields of one seen before adds nothing, and comparing
	// keys (the same strings, mostly) is cheaper than setting them.
	var seen [][]string
	next := 0
events:
	for e, err := range events {
		if err != nil {
			return nil, err
		}
		if e.Event == nil {
			continue
		}
		fields := e.Event.Fields()
		for _, keys := range seen {
			if sameKeys(keys, fields) {
				continue events
			}
		}
		keys := make([]string, len(fields))
		for i, f := range fields {
			present[f.Key] = true
			keys[i] = f.Key
		}
		if len(seen) < maxLayouts {
			seen = append(seen, keys)
		} else {
			seen[next] = keys
			next = (next + 1) % maxLayouts
		}
	}
	columns := make([]string, 0, len(present)+1)
	for _, c := range DefaultColumns {
		if present[c] {
			columns = append(columns, c)
			delete(present, c)
		}
	}
	rest := make([]string, 0, len(present))
	for k := range present {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	columns = append(columns, rest...)
	return append(columns, HashColumn), nil
}

// cell returns the text of one column of an event: the canonical value, with
// extra.* JSON strings unquoted so that a cell reads as the text it holds.
func cell(e store.StoredEvent, column string) string {
	if column == HashColumn {
		return hashOf(e).String()
	}
	if e.Event == nil {
		return ""
	}
	v, ok := e.Event.Get(column)
	if !ok {
		return ""
	}
	if event.IsExtra(column) {
		return unquoteExtra(v)
	}
	return v
}
