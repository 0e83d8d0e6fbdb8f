// Package feedadmin keeps what the team changed about its feeds from the
// console or the API, over the configuration file: feeds added, feeds
// whose definition was changed, feeds paused or resumed (overrides); the
// runs asked for by hand (run requests), which any process running the
// feeds takes from the database; and the history of each feed's recent
// runs. The configuration file stays the base: an override is kept beside
// it, shown as such, and can be dropped to return to the file's version.
package feedadmin

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// Override is what the console changed about one feed. A feed of the
// configuration file with an override is "changed in the console"; a feed
// with an override and not in the file was "added in the console".
type Override struct {
	Name string
	// Definition is the feed as the console set it, in the configuration
	// file's YAML form (one feed's keys); nil when the override only
	// pauses or resumes the file's feed.
	Definition []byte
	// Paused is nil when the override leaves the feed's state as its
	// definition says (enabled or not), else whether it is paused.
	Paused  *bool
	Updated time.Time
	// UpdatedBy names the account that made the last change.
	UpdatedBy string
}

// RunRequest asks the process running a feed to run it at once.
type RunRequest struct {
	Feed        string
	Requested   time.Time
	RequestedBy string
}

// Triggers of a run.
const (
	TriggerSchedule = "schedule" // the collector's own schedule
	TriggerConsole  = "console"  // a run asked for by hand (console, API, CLI)
)

// Run is one run of a feed: one input delivered by the collector on its
// schedule, or one pass of the collector asked for by hand.
type Run struct {
	ID      int64
	Feed    string
	Trigger string
	// RequestedBy names who asked for a run by hand.
	RequestedBy string
	Started     time.Time
	// Finished is zero while the run goes on.
	Finished time.Time
	// Inputs counts the files or downloads the run delivered.
	Inputs int64
	// InputNames are the names (file names or URLs) of its first
	// RunInputNames inputs, in the order they came; Inputs less their
	// number came after.
	InputNames []string
	LinesRead  int64
	// EventsParsed are the events handed on to enrichment and storage;
	// EventsStored and Duplicates are added as the workers store them.
	EventsParsed int64
	EventsStored int64
	DeadLetters  int64
	Duplicates   int64
	// Error is why the run, or one of its inputs, failed, in English.
	Error string
	// Problem is Error as a message in the catalogue, said in the
	// reader's language (Reason); zero when it has none.
	Problem i18n.Message
}

// Reason says why the run failed, for a reader of lang: its Problem in
// lang when it has one that c knows, its Error otherwise.
func (r Run) Reason(c *i18n.Catalog, lang string) string {
	return r.Problem.InOr(c, lang, r.Error)
}

// Duration is how long a finished run took.
func (r Run) Duration() time.Duration {
	if r.Finished.IsZero() {
		return 0
	}
	return r.Finished.Sub(r.Started)
}

// RunInput is what one delivered input added to a run.
type RunInput struct {
	// Name is the input's file name or URL.
	Name                                 string
	LinesRead, EventsParsed, DeadLetters int64
	// Error is why the input failed, in English, and Problem the same
	// as a message (zero when it has none).
	Error   string
	Problem i18n.Message
}

// KeepRuns is how many runs of each feed the history keeps.
const KeepRuns = 50

// RunInputNames is how many of a run's inputs are kept by name: a run of
// a collector that brings thousands of files stays one short row.
const RunInputNames = 20

// MaxInputName is the longest input name kept, in bytes; a longer one
// is cut (at a character's boundary) and ends in "…".
const MaxInputName = 1000

// Overrides keeps the console's changes to the feeds. Every change
// increments a version, which a process running the feeds polls to know
// when to read the overrides again.
type Overrides interface {
	// ListFeedOverrides returns every override by name.
	ListFeedOverrides(ctx context.Context) ([]Override, error)
	// GetFeedOverride returns one override; store.ErrNotFound when none.
	GetFeedOverride(ctx context.Context, name string) (Override, error)
	// PutFeedDefinition sets the definition of a feed's override,
	// keeping its paused state.
	PutFeedDefinition(ctx context.Context, name string, definition []byte, by string, at time.Time) error
	// SetFeedPaused sets the paused state of a feed's override (nil:
	// as its definition says), keeping its definition; an override left
	// with neither is deleted.
	SetFeedPaused(ctx context.Context, name string, paused *bool, by string, at time.Time) error
	// DeleteFeedOverride drops a feed's override; dropping none is not
	// an error.
	DeleteFeedOverride(ctx context.Context, name string) error
	// FeedOverridesVersion returns a number that changes with every
	// change to the overrides.
	FeedOverridesVersion(ctx context.Context) (int64, error)
}

// RunRequests keeps the runs asked for by hand, one a feed at most.
type RunRequests interface {
	// RequestFeedRun asks for a run of feed (again, if one is pending).
	RequestFeedRun(ctx context.Context, feed, by string, at time.Time) error
	// ListFeedRunRequests returns the pending requests by feed.
	ListFeedRunRequests(ctx context.Context) ([]RunRequest, error)
	// TakeFeedRunRequest removes feed's pending request and returns it;
	// ok is false when there was none (another process took it).
	TakeFeedRunRequest(ctx context.Context, feed string) (req RunRequest, ok bool, err error)
}

// Runs keeps the history of the feeds' runs, the last KeepRuns of each.
type Runs interface {
	// StartFeedRun records a run as started and returns its ID; the
	// oldest runs of the feed past KeepRuns are forgotten.
	StartFeedRun(ctx context.Context, run Run) (int64, error)
	// AddFeedRunInput adds one delivered input to a run, keeping its
	// name when it is one of the first RunInputNames.
	AddFeedRunInput(ctx context.Context, id int64, in RunInput) error
	// AddFeedRunEvents adds events stored and duplicates dropped by the
	// workers to a run; a forgotten run is not an error.
	AddFeedRunEvents(ctx context.Context, id int64, stored, duplicates int64) error
	// FinishFeedRun records the end of a run, and its error if any, in
	// English and as a message (problem, zero when it has none); an
	// input's error recorded earlier is kept when errText is empty.
	FinishFeedRun(ctx context.Context, id int64, finished time.Time, errText string, problem i18n.Message) error
	// ListFeedRuns returns up to limit of feed's runs, newest first,
	// with their input names.
	ListFeedRuns(ctx context.Context, feed string, limit int) ([]Run, error)
}

// Data is all of the feeds' administration data.
type Data interface {
	Overrides
	RunRequests
	Runs
}

// InputName is name as a run keeps it: at most MaxInputName bytes, cut
// at a character's boundary with "…", and without control characters
// (a file name may hold any), each one a "?".
func InputName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, name)
	if len(name) <= MaxInputName {
		return name
	}
	cut := MaxInputName - len("…")
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + "…"
}
