package config

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/feedadmin/feedadmindb"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// auditedFeeds is the feeds' store with an audit log in memory.
type auditedFeeds struct {
	*feedadmindb.Store
	entries []auth.AuditEntry
	fail    error
}

func (a *auditedFeeds) AddAudit(_ context.Context, e auth.AuditEntry) error {
	if a.fail != nil {
		return a.fail
	}
	a.entries = append(a.entries, e)
	return nil
}

// TestFeedManagerAudits: every change the manager makes is audited once,
// with who made it, the feed and the same detail whichever way it came
// (through the API, with its token); a change that changes nothing is
// not; an audit entry that cannot be written is an error.
func TestFeedManagerAudits(t *testing.T) {
	ctx := t.Context()
	st := dbtest.SQLite(t, feedadmindb.Schema)
	audit := &auditedFeeds{Store: feedadmindb.New(st.DB())}
	m := &FeedManager{File: []Feed{DefaultInboxFeed()}, Store: audit}
	ana := FeedActor{UserID: 7, Name: "ana"}
	api := FeedActor{UserID: 7, Name: "ana", Via: "API token 3"}
	added := Feed{Name: "blocklist", Parser: "csv", ParserOptions: map[string]any{"columns": map[string]any{"0": "source.ip"}}}
	changed := DefaultInboxFeed()
	changed.TLP = "amber"
	steps := []struct {
		name   string
		change func() error
		want   auth.AuditEntry // Action "" for none
	}{
		{"add", func() error { return m.Add(ctx, added, ana) },
			auth.AuditEntry{UserID: 7, Actor: "ana", Action: "feed.add", Target: "blocklist", Detail: " / csv"}},
		{"change through the API", func() error { return m.Change(ctx, "inbox", changed, api) },
			auth.AuditEntry{UserID: 7, Actor: "ana", Action: "feed.change", Target: "inbox", Detail: "inbox / auto (API token 3)"}},
		{"the same change again", func() error { return m.Change(ctx, "inbox", changed, ana) }, auth.AuditEntry{}},
		{"pause", func() error { _, err := m.SetPaused(ctx, "inbox", true, ana); return err },
			auth.AuditEntry{UserID: 7, Actor: "ana", Action: "feed.pause", Target: "inbox"}},
		{"resume through the API", func() error { _, err := m.SetPaused(ctx, "inbox", false, api); return err },
			auth.AuditEntry{UserID: 7, Actor: "ana", Action: "feed.resume", Target: "inbox", Detail: "API token 3"}},
		{"run from the command line", func() error { return m.RequestRun(ctx, "inbox", FeedActor{Name: "cli"}) },
			auth.AuditEntry{Actor: "cli", Action: "feed.run", Target: "inbox"}},
		{"drop", func() error { _, err := m.Drop(ctx, "inbox", ana); return err },
			auth.AuditEntry{UserID: 7, Actor: "ana", Action: "feed.drop-override", Target: "inbox", Detail: "changed"}},
	}
	for _, step := range steps {
		before := len(audit.entries)
		if err := step.change(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got := audit.entries[before:]
		if step.want.Action == "" {
			if len(got) != 0 {
				t.Errorf("%s: audited %+v", step.name, got)
			}
			continue
		}
		if len(got) != 1 {
			t.Fatalf("%s: %d audit entries, want 1: %+v", step.name, len(got), got)
		}
		e := got[0]
		if e.Time.IsZero() {
			t.Errorf("%s: no time", step.name)
		}
		e.Time = step.want.Time
		if e != step.want {
			t.Errorf("%s: audited %+v\nwant %+v", step.name, e, step.want)
		}
	}
	// Refused changes are not audited.
	before := len(audit.entries)
	if err := m.Add(ctx, added, ana); err == nil {
		t.Error("adding a feed twice")
	}
	if _, err := m.SetPaused(ctx, "nope", true, ana); err == nil {
		t.Error("pausing no feed")
	}
	if len(audit.entries) != before {
		t.Errorf("refusals audited: %+v", audit.entries[before:])
	}
	audit.fail = errors.New("disk full")
	if err := m.RequestRun(ctx, "inbox", ana); err == nil || !errors.Is(err, audit.fail) {
		t.Errorf("an audit entry not written: %v", err)
	}
}

// TestFeedManagerSaysWhyAStageIsRefused: a feed whose collector cannot
// be built is refused at the collector's key, with the module's own
// words in the reader's language when it has them.
func TestFeedManagerSaysWhyAStageIsRefused(t *testing.T) {
	st := dbtest.SQLite(t, feedadmindb.Schema)
	unknown := &pipeline.UnknownModuleError{Kind: "collector", ID: "nope", Known: []string{"http", "inbox"}}
	m := &FeedManager{File: []Feed{DefaultInboxFeed()}, Store: &auditedFeeds{Store: feedadmindb.New(st.DB())}, Check: func(Feed) error {
		// Wrapped, as a caller may: the stage is known by its type.
		return fmt.Errorf("check: %w", &StageError{Stage: StageCollector, Err: unknown})
	}}
	err := m.Add(t.Context(), Feed{Name: "blocklist", Collector: "nope", Parser: "csv"}, FeedActor{Name: "ana"})
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "feed.collector" || !errors.Is(err, unknown) {
		t.Fatalf("err = %v, want a configuration error at feed.collector", err)
	}
	c := i18n.Embedded()
	for _, lang := range []string{"en", "nl", "fr", "de"} {
		got, want := ce.Message.In(c, lang), unknown.Explain().In(c, lang)
		if !strings.Contains(got, want) || (lang != "en" && strings.Contains(got, "unknown")) {
			t.Errorf("%s: %q, want it to say %q", lang, got, want)
		}
	}
}

// TestFeedManagerSaysAStageErrorWithoutMessage: a stage that fails for a
// reason without a message (the system's) is refused with that reason
// alone in the reader's sentence, not with the English that the layers
// put around it.
func TestFeedManagerSaysAStageErrorWithoutMessage(t *testing.T) {
	st := dbtest.SQLite(t, feedadmindb.Schema)
	system := &fs.PathError{Op: "mkdir", Path: "/var/lib/vigil/inbox", Err: fs.ErrPermission}
	m := &FeedManager{File: []Feed{DefaultInboxFeed()}, Store: &auditedFeeds{Store: feedadmindb.New(st.DB())}, Check: func(Feed) error {
		return &StageError{Stage: StageCollector, Err: fmt.Errorf("inbox: make the folders: %w", system)}
	}}
	err := m.Add(t.Context(), Feed{Name: "blocklist", Collector: "inbox", Parser: "csv"}, FeedActor{Name: "ana"})
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "feed.collector" || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("err = %v, want a configuration error at feed.collector", err)
	}
	c := i18n.Embedded()
	for _, lang := range []string{"en", "nl", "fr", "de"} {
		got := ce.Message.In(c, lang)
		if want := c.T(lang, "feedadmin.error.stage", system.Error()); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
}
