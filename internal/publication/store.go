package publication

import (
	"context"
	"time"
)

// Change is one entry of a publication's history (the team's log, not
// the public revisions): who did what, when, and why.
type Change struct {
	At     time.Time
	UserID int64
	User   string
	Action string // ActionCreate, …
	// Note is the reason (reject, withdraw) or the change note (update).
	Note string
}

// Delivery states.
const (
	DeliveryQueued  = "queued"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed"  // given up after the last retry
	DeliverySkipped = "skipped" // the channel does not take it (TLP, kind)
)

// Delivery is one publication's revision on its way to one channel in one
// language: queued when it is published, sent by the channel's worker
// with retries, and shown on the publication's page with its status.
type Delivery struct {
	ID            int64
	PublicationID int64
	Revision      int
	// Channel names the channel: "website", "feeds", "csaf",
	// "newsletter", "constituents", or a configured social channel's
	// name ("mastodon", "bluesky", "webhook:<name>").
	Channel     string
	Lang        string // "" for a channel that takes every language at once
	Status      string // DeliveryQueued, …
	Attempts    int
	NextAttempt time.Time
	// LastError is why the last attempt failed or the delivery was
	// skipped, and Reply what the channel answered (a post's URL, a
	// count of mails queued): each a catalogue message in its stored
	// form (i18n.Message.Encode), shown in the reader's language
	// (i18n.Catalog.Stored), that quotes a server's own answer as it
	// came, as an argument. Only Encode writes them, never a server's
	// text as a whole, so that no server can make its answer pass for
	// a message of Vigil's.
	LastError string
	Reply     string
	Created   time.Time
	Done      time.Time
}

// Query selects publications for the console's, the site's and the API's
// lists, newest first. Zero fields do not filter.
type Query struct {
	Kind     Kind
	Status   Status
	Severity string
	// MaxTLP admits publications up to this label ("" admits all);
	// Public admits only what Publication.Public allows.
	MaxTLP TLP
	Public bool
	// Text matches the ident, CVEs and every language's title, summary
	// and body, case-insensitively.
	Text   string
	Since  time.Time // published at or after
	Until  time.Time // published before
	Limit  int       // default 50, at most 1000
	Offset int
}

// Page is a page of a list and how many match in all.
type Page struct {
	Publications []Publication
	Total        int
}

// Publications is what internal/publication/pubdb keeps. Each method is
// one transaction; store.ErrNotFound for a publication that does not
// exist.
type Publications interface {
	// CreatePublication stores p as a new draft, setting ID, Ident (from
	// ident, given the year of p.Created and the year's next number),
	// and writes its ActionCreate change.
	CreatePublication(ctx context.Context, p *Publication, ident func(year, n int) string, c Change) error
	GetPublication(ctx context.Context, id int64) (Publication, error)
	GetPublicationByIdent(ctx context.Context, ident string) (Publication, error)
	// ChangePublication reads the publication, lets change set its fields
	// and return the change to log, a revision to record (nil for none)
	// and deliveries to queue, and writes them all; nothing is written
	// when change fails.
	ChangePublication(ctx context.Context, id int64, change func(*Publication) (Change, *Revision, []Delivery, error)) (Publication, error)
	ListPublications(ctx context.Context, q Query) (Page, error)
	// History is the publication's changes, oldest first; Revisions its
	// published revisions, oldest first.
	History(ctx context.Context, id int64) ([]Change, error)
	Revisions(ctx context.Context, id int64) ([]Revision, error)
	// DueScheduled returns the scheduled publications whose time is at
	// or before now.
	DueScheduled(ctx context.Context, now time.Time) ([]Publication, error)
	// Generation counts the changes that alter what is public; the site
	// and the feeds rebuild their caches when it moves (also when
	// another process published).
	Generation(ctx context.Context) (int64, error)
	Deliveries
}

// Deliveries is the publication outbox.
type Deliveries interface {
	// DueDeliveries returns up to limit queued deliveries of channel
	// whose NextAttempt is at or before now, oldest first.
	DueDeliveries(ctx context.Context, channel string, now time.Time, limit int) ([]Delivery, error)
	// FinishDelivery records an attempt's outcome: d's Status, Attempts,
	// NextAttempt, LastError, Reply and Done as the caller set them.
	FinishDelivery(ctx context.Context, d Delivery) error
	// ListDeliveries returns a publication's deliveries, newest first.
	ListDeliveries(ctx context.Context, publicationID int64) ([]Delivery, error)
	// SkipUnknownChannels marks every queued delivery (retrying ones
	// too) created before queuedBefore of a channel not in known as
	// skipped at now, its LastError reason(channel), in one
	// transaction; it returns how many it skipped of each channel. The
	// outbox's worker calls it, so that a channel removed from the
	// configuration does not leave its deliveries queued for ever.
	SkipUnknownChannels(ctx context.Context, known []string, reason func(channel string) string, queuedBefore, now time.Time) (map[string]int, error)
}
