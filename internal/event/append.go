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

// Arena makes events as MakeSorted does, but cuts the events and their
// fields' arrays from allocations shared by dozens of events (as
// RecordArena does for decoded records) instead of two allocations an
// event: a parser making a million events spent a fifth of building them
// on allocating each one's array (about 1.5 KB of pointers). The events
// stay independent: each has its own part of an array, capped at its
// n+room fields, so growing one past its room copies it elsewhere, as for
// any event. The events of an arena also lie in memory in the order they
// were made, which is the order the pipeline reads them in.
//
// The price is memory: an arena's arrays are freed when the last of their
// events is. A parser's events hold the chunk of input they were read
// from already (their values are substrings of it), and an arena's arrays
// are smaller than such a chunk, so the events that live together are
// still the ones that die together.
//
// The zero Arena is ready to use. An Arena is not safe for concurrent
// use: each of a parser's workers has its own.
type Arena struct {
	fields []Field
	events []Event
}

// The sizes of an Arena's allocations. arenaFields is 64 KiB of fields,
// about 40 events of a wide Shadowserver report with their room; an
// event asking for more than a quarter of that has an array of its own,
// so that no more than a quarter is left unused at an array's end.
const (
	arenaFields = 2048
	arenaEvents = 64
)

// MakeSorted is MakeSorted, with the event and its fields cut from a.
func (a *Arena) MakeSorted(n, room int) (*Event, []Field) {
	if len(a.events) == 0 {
		a.events = make([]Event, arenaEvents)
	}
	e := &a.events[0]
	a.events = a.events[1:]
	size := n + room
	switch {
	case size > arenaFields/4:
		e.fields = make([]Field, n, size)
		return e, e.fields
	case size > len(a.fields):
		a.fields = make([]Field, arenaFields)
	}
	e.fields = a.fields[:n:size]
	a.fields = a.fields[size:]
	return e, e.fields
}
