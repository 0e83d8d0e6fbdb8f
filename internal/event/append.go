package event

// AppendTrusted is SetTrusted for builders that produce fields in key
// order, such as parsers with a precomputed field layout: a key that sorts
// after every key already set is appended without searching or shifting.
// A key out of order still lands in its place, through SetTrusted.
func (e *Event) AppendTrusted(key, value string) {
	if n := len(e.fields); (n > 0 && e.fields[n-1].Key >= key) || key == "raw" {
		e.SetTrusted(key, value)
		return
	}
	e.fields = append(e.fields, Field{Key: key, Value: value})
	e.setFlag(unchanged, false)
}

// NewSorted returns an event holding a copy of fields, with room for
// room more. It is for builders that checked once that their keys are in
// strictly increasing order, none of them raw, and whose values are
// canonical, as for SetTrusted (the Shadowserver parser's plan): the
// fields are copied at once, with none of the comparisons a key order
// checked per field costs. Fields that are not so make an event whose
// lookups fail.
func NewSorted(fields []Field, room int) *Event {
	e := &Event{fields: make([]Field, len(fields), len(fields)+room)}
	copy(e.fields, fields)
	return e
}

// MakeSorted is NewSorted for a builder that writes the fields in place:
// it returns an event of n fields, with room for room more, and the
// event's own slice of them, which the caller fills, under NewSorted's
// terms, before the event is used. Writing each field once, into the
// event, spares the copy of a scratch slice (a row's fields are written
// with the collector's write barrier while it marks, once a pointer).
func MakeSorted(n, room int) (*Event, []Field) {
	e := &Event{fields: make([]Field, n, n+room)}
	return e, e.fields
}
