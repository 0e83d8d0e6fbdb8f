package notify

// What the notifier keeps of what it told: the observations told to each
// organisation, the "seen again" tallies, and the commit of a pass, kept
// by internal/notify/told (offered by notifydb's store).

import (
	"context"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify/told"
)

// NotifiedKey remembers that an observation (an event's notification key:
// what was seen where, without when) was told to an organisation, so that
// it is not told again before Expires (told.Key).
type NotifiedKey = told.Key

// NotifiedKeySet is keys told to one organisation at once (told.KeySet).
type NotifiedKeySet = told.KeySet

// NotificationCommit is one pass of the notifier for some organisations,
// stored in one transaction: a crash before the commit leaves everything
// pending, after it everything is queued (told.Commit).
type NotificationCommit = told.Commit

// Records keeps what was told to whom and commits a pass. The queue of
// events to notify is the event store's (store.NotifyQueue), filled when
// events are stored; a commit consumes it in its own transaction.
type Records interface {
	// GetNotifiedKeys returns those of keys told to org that expire after
	// now (Org, Key, FirstSent, Expires).
	GetNotifiedKeys(ctx context.Context, org string, keys []event.Hash, now time.Time) (map[event.Hash]NotifiedKey, error)
	// ListRepeatedKeys returns org's "seen again" tally, the entries that
	// expire after now, by FirstSent then Key; org "" returns every
	// organisation's, by organisation.
	ListRepeatedKeys(ctx context.Context, org string, now time.Time) ([]NotifiedKey, error)
	// NotifiedOrganisations returns the organisations told something that
	// has not expired at now, so that a pass asks only those which keys
	// they were told.
	NotifiedOrganisations(ctx context.Context, now time.Time) (map[string]bool, error)
	// PruneNotifiedKeys removes what expired before now (and may
	// reorganise what is kept).
	PruneNotifiedKeys(ctx context.Context, now time.Time) error
	// CommitNotifications stores c in one transaction. It sets the
	// messages' IDs and Size, and when zero their Status (queued), Created
	// (now) and NextAttempt (Created). A MessageID already stored is an
	// error wrapping store.ErrConflict; on any error nothing is stored and
	// c is unchanged. The arrays of the messages' Packed bodies are the
	// caller's again once it returns (the notifier packs its next
	// messages into them): a store copies what it keeps.
	CommitNotifications(ctx context.Context, c *NotificationCommit) error
	// EventEntries returns, for those of hashes that are stored, the
	// event's id and the organisations whose queue holds it, for a
	// notification sent now (NotifyNow).
	EventEntries(ctx context.Context, hashes []event.Hash) (map[event.Hash]told.EventEntry, error)
}
