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
