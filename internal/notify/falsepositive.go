package notify

// False positives: an observation an analyst marked as wrongly reported
// is left out of every notification, queued or seen again.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/notify/falsepositive"
	"github.com/vigil-cert/vigil/internal/store"
)

// FalsePositive marks an observation (Key: an event's notification key)
// as a false positive, with the reason, who and when
// (falsepositive.Mark).
type FalsePositive = falsepositive.Mark

// MaxSelection bounds how many events one mark, unmark or notification
// sent now takes.
const MaxSelection = falsepositive.MaxSelection

// MaxFalsePositiveReason bounds a mark's reason, in characters.
const MaxFalsePositiveReason = falsepositive.MaxReason

// FalsePositives keeps the marks (package falsepositive; notifydb's store
// offers it).
type FalsePositives interface {
	// MarkFalsePositives stores marks; marking an observation again
	// replaces its mark.
	MarkFalsePositives(ctx context.Context, marks []FalsePositive) error
	// UnmarkFalsePositives removes the marks of keys and returns how many
	// there were.
	UnmarkFalsePositives(ctx context.Context, keys []event.Hash) (int, error)
	// GetFalsePositives returns the marks of those of keys that are
	// marked.
	GetFalsePositives(ctx context.Context, keys []event.Hash) (map[event.Hash]FalsePositive, error)
	// FalsePositiveKeys returns every marked observation.
	FalsePositiveKeys(ctx context.Context) (map[event.Hash]bool, error)
	// ListFalsePositives returns the newest marks, at most limit.
	ListFalsePositives(ctx context.Context, limit int) ([]FalsePositive, error)
}

// ErrInput is what every *InputError is (errors.Is): the request was
// refused, and the error says why in words a person can act on.
var ErrInput = errors.New("notify: input refused")

// InputError refuses a request, with its text as a catalogue message so
// that the console and the API say it in the reader's language.
type InputError struct{ Message i18n.Message }

// Error returns the refusal in English.
func (e *InputError) Error() string { return e.Message.String() }

// Is makes every InputError ErrInput.
func (e *InputError) Is(target error) bool { return target == ErrInput }

func refuse(id string, args ...any) error { return &InputError{Message: i18n.M(id, args...)} }

// CheckSelection refuses a selection of events that is empty or larger
// than MaxSelection.
func CheckSelection(n int) error {
	switch {
	case n == 0:
		return refuse("fp.error.none")
	case n > MaxSelection:
		return refuse("fp.error.toomany", MaxSelection)
	}
	return nil
}

// FalsePositiveMarks returns the marks of the observations of events
// (each observation once), with reason (trimmed, required, at most
// MaxFalsePositiveReason characters), made by userID, who, at now.
func FalsePositiveMarks(events []store.StoredEvent, reason string, userID int64, who string, now time.Time) ([]FalsePositive, error) {
	if err := CheckSelection(len(events)); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return nil, refuse("fp.error.reason")
	case utf8.RuneCountInString(reason) > MaxFalsePositiveReason:
		return nil, refuse("fp.error.reasonlong", MaxFalsePositiveReason)
	case !utf8.ValidString(reason) || strings.ContainsFunc(reason, isControl):
		return nil, refuse("fp.error.reasonbad")
	}
	seen := map[event.Hash]bool{}
	out := make([]FalsePositive, 0, len(events))
	for _, se := range events {
		k := Key(se.Event)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, FalsePositive{Key: k, Event: se.Hash, Summary: Summary(se.Event), Reason: reason,
			UserID: userID, By: who, At: now.UTC()})
	}
	return out, nil
}

// isControl is a control character other than a line break or a tab.
func isControl(r rune) bool { return r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f }

// ObservationKeys returns the notification keys of events, each once.
func ObservationKeys(events []store.StoredEvent) []event.Hash {
	seen := map[event.Hash]bool{}
	out := make([]event.Hash, 0, len(events))
	for _, se := range events {
		if k := Key(se.Event); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// EventsTarget names chosen events in an audit entry's Target: "event
// <hash>" for one, "events <hash>, <hash>, …" shortened past ten ("… and
// 12 more").
func EventsTarget(events []store.StoredEvent) string {
	const shown = 10
	if len(events) == 1 {
		return "event " + events[0].Hash.String()
	}
	var b strings.Builder
	b.WriteString("events ")
	for i, se := range events {
		if i == shown {
			fmt.Fprintf(&b, " and %d more", len(events)-shown)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(se.Hash.String())
	}
	return b.String()
}

// MarksDetail is an audit entry's Detail for marks made together: the
// reason and the observations marked (the first ten).
func MarksDetail(marks []FalsePositive) string {
	const shown = 10
	if len(marks) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%q: ", marks[0].Reason)
	for i, m := range marks {
		if i == shown {
			fmt.Fprintf(&b, " and %d more", len(marks)-shown)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(m.Summary)
	}
	return b.String()
}
