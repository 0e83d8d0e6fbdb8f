package config

// The changes the console, the API and the command line make to the
// feeds, checked, kept as overrides of the configuration file's feeds
// and audited: one place for all, so that a feed is accepted or refused
// alike, and each change recorded once with the same details, whichever
// way it comes.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// FeedStore is what FeedManager keeps its changes in, and the audit log
// it records each change in.
type FeedStore interface {
	feedadmin.Overrides
	feedadmin.RunRequests
	auth.AuditLog
}

// FeedActor is who changes a feed, as the audit log names them.
type FeedActor struct {
	// UserID is the account's, 0 for the command line.
	UserID int64
	// Name is the account's name, or "cli"; an override keeps it as
	// the name of who changed it last.
	Name string
	// Via says through what the change came when not the console ("API
	// token 3"); the audit entry's detail ends with it.
	Via string
}

// FeedManager adds, changes, pauses, resumes, runs and restores feeds
// over the configuration file's.
type FeedManager struct {
	// File are the configuration file's feeds.
	File  []Feed
	Store FeedStore
	// Check builds a feed's collector and parser to check their options,
	// as `vigil serve` builds them; nil checks the feed's keys only. A
	// stage that cannot be built is a *StageError naming it.
	Check func(Feed) error
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// ErrNoOverride is Drop's answer for a feed the console never changed.
var ErrNoOverride = errors.New("the feed has no override")

func (m *FeedManager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Effective returns the feeds as the processes running them see them.
func (m *FeedManager) Effective(ctx context.Context) ([]EffectiveFeed, error) {
	overrides, err := m.Store.ListFeedOverrides(ctx)
	if err != nil {
		return nil, err
	}
	return EffectiveFeeds(m.File, overrides), nil
}

// Get returns one effective feed; store.ErrNotFound when there is none.
func (m *FeedManager) Get(ctx context.Context, name string) (EffectiveFeed, error) {
	feeds, err := m.Effective(ctx)
	if err != nil {
		return EffectiveFeed{}, err
	}
	for _, f := range feeds {
		if f.Name == name {
			return f, nil
		}
	}
	return EffectiveFeed{}, fmt.Errorf("feed %s: %w", name, store.ErrNotFound)
}

// check validates f as the file's feeds are, then builds its stages.
func (m *FeedManager) check(f Feed) error {
	if err := ValidateFeed("feed", f); err != nil {
		return err
	}
	if m.Check == nil {
		return nil
	}
	if err := m.Check(f); err != nil {
		key, cause := "feed.parser", err
		if se := (*StageError)(nil); errors.As(err, &se) {
			if se.Stage == StageCollector {
				key = "feed.collector"
			}
			cause = se.Err
		}
		// A module's own words (a collector this binary does not have)
		// in the reader's language; else the system's or a library's
		// reason, without the English that the layers put around it.
		var detail any = i18n.LowLevelReason(cause)
		if m, ok := i18n.Explain(err); ok {
			detail = m
		}
		return &Error{Key: key, Message: i18n.M("feedadmin.error.stage", detail), Err: err}
	}
	return nil
}

// The stages of a feed that a StageError names.
const (
	StageCollector = "collector"
	StageParser    = "parser"
)

// StageError is a feed's collector or parser (Stage, StageCollector or
// StageParser) that cannot be built, so that the console marks the
// stage's field and the configuration's error its key.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return e.Stage + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// audit records a change by `by`: action on the feed target, with detail.
// The change is made when this runs, so a cancelled request still
// records it; an entry that cannot be written is an error.
func (m *FeedManager) audit(ctx context.Context, by FeedActor, action, target, detail string) error {
	if by.Via != "" {
		if detail == "" {
			detail = by.Via
		} else {
			detail += " (" + by.Via + ")"
		}
	}
	e := auth.AuditEntry{Time: m.now().UTC(), UserID: by.UserID, Actor: by.Name, Action: action, Target: target, Detail: detail}
	if err := auth.Record(context.WithoutCancel(ctx), m.Store, e); err != nil {
		return &AuditError{Feed: target, Err: err}
	}
	return nil
}

// AuditError is a change to the feed Feed that is made but whose audit
// entry cannot be written (Err), so that a caller says the change is
// made.
type AuditError struct {
	Feed string
	Err  error
}

func (e *AuditError) Error() string {
	return "feed " + e.Feed + ": the change is made, its audit entry is not: " + e.Err.Error()
}

func (e *AuditError) Unwrap() error { return e.Err }

// stages is the audit detail of a feed's definition: its collector and
// its parser.
func stages(f Feed) string { return f.Collector + " / " + f.Parser }

// Add adds a feed, audited as feed.add; a name the file or the console
// already has is refused with an *Error naming why.
func (m *FeedManager) Add(ctx context.Context, f Feed, by FeedActor) error {
	if err := m.check(f); err != nil {
		return err
	}
	switch existing, err := m.Get(ctx, f.Name); {
	case err == nil && existing.Origin == OriginAdded:
		return &Error{Key: "feed.name", Message: i18n.M("feedadmin.error.exists", f.Name)}
	case err == nil:
		return &Error{Key: "feed.name", Message: i18n.M("feedadmin.error.filename", f.Name)}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	if err := m.put(ctx, f, by.Name); err != nil {
		return err
	}
	return m.audit(ctx, by, "feed.add", f.Name, stages(f))
}

// Change replaces the definition of the feed called name (whose name
// stays), audited as feed.change; store.ErrNotFound when there is none.
// A definition the feed has already changes nothing (and is not
// audited), and a file's feed changed back to the file's definition, not
// paused or resumed by hand, is the file's again: its override goes.
func (m *FeedManager) Change(ctx context.Context, name string, f Feed, by FeedActor) error {
	existing, err := m.Get(ctx, name)
	if err != nil {
		return err
	}
	f.Name = name
	if err := m.check(f); err != nil {
		return err
	}
	def, err := FeedYAML(f)
	if err != nil {
		return err
	}
	if same, err := sameDefinition(def, existing.Feed); err != nil || same {
		return err
	}
	backToFile := false
	if existing.File != nil && existing.Override != nil && existing.Override.Paused == nil {
		if backToFile, err = sameDefinition(def, *existing.File); err != nil {
			return err
		}
	}
	if backToFile {
		err = m.Store.DeleteFeedOverride(ctx, name)
	} else {
		err = m.Store.PutFeedDefinition(ctx, f.Name, def, by.Name, m.now())
	}
	if err != nil {
		return err
	}
	return m.audit(ctx, by, "feed.change", name, stages(f))
}

// sameDefinition reports whether def is f's definition.
func sameDefinition(def []byte, f Feed) (bool, error) {
	other, err := FeedYAML(f)
	if err != nil {
		return false, err
	}
	return bytes.Equal(def, other), nil
}

func (m *FeedManager) put(ctx context.Context, f Feed, by string) error {
	def, err := FeedYAML(f)
	if err != nil {
		return err
	}
	return m.Store.PutFeedDefinition(ctx, f.Name, def, by, m.now())
}

// SetPaused pauses a feed, or resumes it: to its definition's state when
// that runs it, else explicitly; audited as feed.pause or feed.resume.
// It returns the feed as it was.
func (m *FeedManager) SetPaused(ctx context.Context, name string, pause bool, by FeedActor) (EffectiveFeed, error) {
	f, err := m.Get(ctx, name)
	if err != nil {
		return f, err
	}
	var paused *bool
	if pause || !f.IsEnabled() {
		paused = &pause
	}
	if err := m.Store.SetFeedPaused(ctx, name, paused, by.Name, m.now()); err != nil {
		return f, err
	}
	action := "feed.resume"
	if pause {
		action = "feed.pause"
	}
	return f, m.audit(ctx, by, action, name, "")
}

// RequestRun asks the process running the feed to run it at once,
// audited as feed.run.
func (m *FeedManager) RequestRun(ctx context.Context, name string, by FeedActor) error {
	if _, err := m.Get(ctx, name); err != nil {
		return err
	}
	if err := m.Store.RequestFeedRun(ctx, name, by.Name, m.now()); err != nil {
		return err
	}
	return m.audit(ctx, by, "feed.run", name, "")
}

// Drop drops the console's override of a feed, audited as
// feed.drop-override with where the feed came from, and returns the feed
// as it was: a file's feed returns to the file's version, an added one
// is gone.
func (m *FeedManager) Drop(ctx context.Context, name string, by FeedActor) (EffectiveFeed, error) {
	f, err := m.Get(ctx, name)
	if err != nil {
		return f, err
	}
	if f.Override == nil {
		return f, fmt.Errorf("feed %s: %w", name, ErrNoOverride)
	}
	if err := m.Store.DeleteFeedOverride(ctx, name); err != nil {
		return f, err
	}
	return f, m.audit(ctx, by, "feed.drop-override", name, string(f.Origin))
}
