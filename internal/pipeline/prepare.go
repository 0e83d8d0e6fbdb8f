package pipeline

import "github.com/vigil-cert/vigil/internal/event"

// Preparer is a sink that lets a parser finish its events on the
// goroutines that made them, before handing them to Event: the runner's
// sink labels each event with its feed's fields and seals it there, so
// that the hashing is spread over a parser's workers and done while the
// event is still in their cache. Prepare is safe for concurrent use and
// changes nothing Event and the runner would not: an event handed to
// Event unprepared ends the same.
type Preparer interface {
	Prepare(e *event.Event)
}

// RoomTeller is a sink that says how many fields the pipeline may add to
// an event of its input after the parser: its labels, event_hash and what
// the enrichers may find (FieldAdder). A parser that makes its events with
// room to spare (event.MakeSorted) leaves that much instead of
// event.PipelineRoom, which has to allow for every feed's labels and
// enrichers.
type RoomTeller interface {
	// Room is the room for an event whose fields are those of keys, the
	// keys the parser may write for its input, in key order. An event
	// lacking some of them may be given more (an enricher fills a side's
	// AS number the report left empty): its fields then grow, as any
	// event's do past its room, and it ends the same.
	Room(keys []string) int
}

// FieldAdder is an Enricher that says which fields it may add to an event,
// so that the parser leaves room for those and no more (RoomTeller). An
// enricher that does not say is given enricherRoom places.
type FieldAdder interface {
	// MayAdd returns the keys of the fields Enrich may add to an event
	// that has a field of each key has reports and of no other: those
	// it would set were every lookup to find something. Keys the event
	// has already are not counted, whether MayAdd returns them or not.
	MayAdd(has func(key string) bool) []string
}

// Labeller is a sink that gives every event of its input the same fields
// where the event lacks them: its feed's labels, in key order, and
// event_hash, which sealing fills. A parser that writes its events'
// fields in key order (event.MakeSorted) may write these among them
// (event_hash with any value), so that the sink's Prepare finds every
// place made and moves no field: inserting them after the parser moves
// most of an event's fields. The events end the same either way.
type Labeller interface {
	Labels() []event.Field
}
