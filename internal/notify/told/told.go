// Package told keeps what the notifier told to whom: the observations
// told to each organisation (in sets, one per commit that told it
// something), the "seen again" tallies, and the commit of a notifier pass,
// which writes those, the pass's messages (to the outbox,
// internal/outbox/outboxdb), state, and consumes the event store's queue
// of events to notify (internal/store/queuesql), in one transaction. Its
// tables are its own schema (Schema); notifydb's store offers its
// methods. It is a package of its own, which does not import
// internal/notify, so that the notifier's own tests can run it on a real
// database. Its queries are written once on the shared SQL layer
// (sqlkit); where the dialects differ in strategy (queueing messages,
// consuming the queue) the packages it calls choose by dialect. Its
// contract tests are notifydb's (notifytest).
package told

import (
	"embed"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// Key remembers that an observation (an event's notification key:
// what was seen where, without when) was told to an organisation, so that
// it is not told again before Expires.
type Key struct {
	Org       string
	Key       event.Hash
	FirstSent time.Time
	Expires   time.Time
	// Repeats counts sightings since the last message that reported them;
	// the next digest says "seen again N times" and resets it. Summary
	// describes the observation in one line for that report. Both are
	// kept in the organisation's tally (Commit.Repeats), not
	// with the observations told (Commit.Told).
	Repeats int
	Summary string
}

// KeySet is keys told to Org for the first time, all at FirstSent, until
// Expires.
type KeySet struct {
	Org                string
	Keys               []event.Hash
	FirstSent, Expires time.Time
}

// Commit is one pass of the notifier for some organisations,
// stored in one transaction: the messages it queued (with the events they
// report), the observations it told and the "seen again" tallies it
// counted, the state it wrote, and the pending notifications it consumed.
// A crash before the commit leaves everything pending, after it everything
// is queued: nothing lost, nothing told twice.
type Commit struct {
	Messages []outbox.Message // IDs are set on commit
	// Told are observations told for the first time within the window
	// (Org, Key, FirstSent, Expires); a key told again replaces the
	// earlier record.
	Told []Key
	// ToldSets are more observations told for the first time, as Told,
	// in lists of one organisation's keys that share FirstSent and
	// Expires, as a pass's do: 32 bytes a key rather than a Key each
	// (a morning's million), written as they are. They count after Told.
	ToldSets []KeySet
	// Repeats replaces the "seen again" tally of every organisation it
	// names (Key, FirstSent, Expires, Repeats, Summary of each entry); an
	// empty list clears it.
	Repeats map[string][]Key
	// State is written in the same transaction, as by PutState, e.g. the
	// organisations' last-digest times.
	State map[string][]byte
	// Done lists, by organisation, the Seq of its consumed pending
	// notifications (store.PendingNotification).
	Done map[string][]int64
	// LeaseName and LeaseHolder, when set, make the commit one made under
	// that lease: it writes nothing, and fails with store.ErrLeaseLost,
	// unless LeaseHolder still holds it (leasesql.Check, in the commit's
	// transaction), so that a notifier that lost its lease cannot commit
	// beside the process that took it over.
	LeaseName, LeaseHolder string
}

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the tables of what was told to whom. They name organisations
// by handle, so the schema comes after the constituency's.
var Schema = sqlkit.Schema{Name: "told", FS: migrations}

// Store keeps what was told to whom on a database Schema has migrated (and the outbox's, and the event store's, whose queue a commit
// consumes). It is safe for concurrent use.
type Store struct {
	db sqlkit.DB
	// events finds stored events' ids by hash (EventEntries): the event
	// store's, whatever layout it keeps its events in.
	events store.EventLookup
	// stmts holds the reads run once per organisation in a pass, prepared
	// once: parsing one costs SQLite about as much as running it.
	stmts *sqlkit.Stmts
}

// New returns what was told to whom, kept on db, with events the event
// store on the same database.
func New(db sqlkit.DB, events store.EventLookup) *Store {
	return &Store{db: db, events: events, stmts: sqlkit.NewStmts(db)}
}
