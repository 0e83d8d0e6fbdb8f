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

// RoomTeller is a sink that says how many fields the pipeline usually
// adds to an event of its input after the parser: its labels, event_hash
// and what the enrichers find. A parser that makes its events with room
// to spare (event.MakeSorted) leaves that much instead of
// event.PipelineRoom, which has to allow for every feed's labels.
type RoomTeller interface {
	Room() int
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
