package export

import (
	"strconv"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// columnReader finds the cells of a fixed list of columns in events. The
// events of an export mostly share a few field lists (one per report), so
// it remembers, for each list it has seen, which field every column is:
// an event whose keys are those of a list seen before (the same strings,
// mostly, which compare at once) needs no search. A notification run
// reads millions of cells.
type columnReader struct {
	columns []string
	extra   []bool
	hash    []bool
	layouts []layout
	next    int // the layout replaced when all are taken
}

// layout is one list of field keys and, for every column, the index of
// its field in the list, -1 when it has none.
type layout struct {
	keys  []string
	field []int
}

// maxLayouts is how many field lists a columnReader remembers.
const maxLayouts = 16

func newColumnReader(columns []string) *columnReader {
	r := &columnReader{columns: columns, extra: make([]bool, len(columns)), hash: make([]bool, len(columns))}
	for i, c := range columns {
		r.hash[i] = c == HashColumn
		r.extra[i] = event.IsExtra(c)
	}
	return r
}

// fieldsOf returns, for every column, the index of its field in fields
// (-1 for none, and always for HashColumn, which callers write
// themselves). The slice is the reader's own: it must not be modified.
func (r *columnReader) fieldsOf(fields []event.Field) []int {
	for i := range r.layouts {
		if sameKeys(r.layouts[i].keys, fields) {
			return r.layouts[i].field
		}
	}
	l := layout{keys: make([]string, len(fields)), field: make([]int, len(r.columns))}
	for i, f := range fields {
		l.keys[i] = f.Key
	}
	for i, c := range r.columns {
		l.field[i] = -1
		if r.hash[i] {
			continue
		}
		if k, ok := searchKey(fields, c); ok {
			l.field[i] = k
		}
	}
	if len(r.layouts) < maxLayouts {
		r.layouts = append(r.layouts, l)
	} else {
		r.layouts[r.next] = l
		r.next = (r.next + 1) % maxLayouts
	}
	return l.field
}

// cell is the text of column i of an event with fields, given the index
// fieldsOf found: the value, with an extra.* JSON string unquoted. It is
// cell's answer for every column but HashColumn.
func (r *columnReader) cell(fields []event.Field, i, k int) string {
	if k < 0 {
		return ""
	}
	if r.extra[i] {
		return unquoteExtra(fields[k].Value)
	}
	return fields[k].Value
}

func sameKeys(keys []string, fields []event.Field) bool {
	if len(keys) != len(fields) {
		return false
	}
	for i := range keys {
		if keys[i] != fields[i].Key {
			return false
		}
	}
	return true
}

// searchKey finds key in fields, which are sorted by key.
func searchKey(fields []event.Field, key string) (int, bool) {
	lo, hi := 0, len(fields)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if fields[m].Key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(fields) && fields[lo].Key == key
}

// fieldsOfEvent is fieldsOf for a stored event, which may have no event.
func (r *columnReader) fieldsOfEvent(e store.StoredEvent) ([]event.Field, []int) {
	var fields []event.Field
	if e.Event != nil {
		fields = e.Event.Fields()
	}
	return fields, r.fieldsOf(fields)
}

// unquoteExtra is the text an extra.* value holds: a JSON string
// unquoted, anything else as it is.
func unquoteExtra(v string) string {
	if len(v) >= 2 && v[0] == '"' {
		if s, err := strconv.Unquote(v); err == nil {
			return s
		}
	}
	return v
}
