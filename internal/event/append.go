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

// Slab makes events as MakeSorted does, but cuts their fields' arrays,
// and the events themselves, from allocations shared by dozens of events
// instead of two allocations an event: a parser making a million events
// spent more on allocating and clearing each one's array (about 1.5 KB
// of pointers) than on filling it. The events of a slab are independent
// all the same: each has its own part, capped at its n+room fields, so
// growing one past its room copies it elsewhere, as for any event. The
// price is memory: a slab is freed when the last of its events is. A
// parser's events hold the chunk of input they were read from already
// (their values are substrings of it), and a slab is smaller than such a
// chunk, so the events that live together are still the ones that die
// together.
//
// The zero Slab is ready to use. A Slab is not safe for concurrent use:
// each of a parser's workers has its own.
type Slab struct {
	fields []Field
	events []Event
}

// The sizes of a Slab's allocations. slabFields is 64 KiB of fields,
// about 40 events of a wide Shadowserver report with their room; an
// event asking for more than a quarter of it has an array of its own,
// which wastes nothing at the end of a slab.
const (
	slabFields = 2048
	slabEvents = 64
)

// MakeSorted is MakeSorted, with the event and its fields cut from s.
func (s *Slab) MakeSorted(n, room int) (*Event, []Field) {
	if len(s.events) == 0 {
		s.events = make([]Event, slabEvents)
	}
	e := &s.events[0]
	s.events = s.events[1:]
	size := n + room
	switch {
	case size > slabFields/4:
		e.fields = make([]Field, n, size)
		return e, e.fields
	case size > len(s.fields):
		s.fields = make([]Field, slabFields)
	}
	e.fields = s.fields[:n:size]
	s.fields = s.fields[size:]
	return e, e.fields
}
