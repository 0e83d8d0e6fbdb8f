package store

import (
	"encoding/json"

	"github.com/vigil-cert/vigil/internal/event"
)

// ConstituencyField is the event field the constituency enricher writes:
// the JSON list of the handles of the organisations an event concerns.
const ConstituencyField = "extra.constituency"

// EventOrganisations returns the organisation handles an event is tagged
// with, nil when none. A value that is not a JSON list of strings tags
// nobody: only the enricher writes the field, and an event it did not tag
// must not be shown to anyone's portal by accident.
func EventOrganisations(e *event.Event) []string {
	v, ok := e.Get(ConstituencyField)
	if !ok || v == "" {
		return nil
	}
	var handles []string
	if err := json.Unmarshal([]byte(v), &handles); err != nil {
		return nil
	}
	return handles
}

// NotificationWithheld are the fields never sent to an organisation:
// extra.constituency names the other organisations an event concerns, and
// raw is the feed's line, which can hold more than the event. The queue
// hands out its events without them.
var NotificationWithheld = []string{ConstituencyField, "raw"}

// WithoutWithheld deletes NotificationWithheld from e.
func WithoutWithheld(e *event.Event) {
	for _, k := range NotificationWithheld {
		e.Delete(k)
	}
}

// CountOrganisations adds one to counts for each organisation e is tagged
// with, read as the index of events by organisation reads the tag when
// the event is stored (valid handles, each once).
func CountOrganisations(counts map[string]int, e *event.Event) {
	v, ok := e.Get(ConstituencyField)
	if !ok {
		return
	}
	for _, h := range parseHandles(v) {
		counts[h]++
	}
}
