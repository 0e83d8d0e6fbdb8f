package config

import (
	"errors"
	"testing"

	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/feedadmin/feedadmindb"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

func TestValidateFeed(t *testing.T) {
	good := Feed{Name: "blocklist", Parser: "csv", TLP: "amber"}
	if err := ValidateFeed("feed", good); err != nil {
		t.Fatalf("ValidateFeed(good) = %v", err)
	}
	for _, tt := range []struct {
		name    string
		change  func(*Feed)
		key, id string
	}{
		{"bad name", func(f *Feed) { f.Name = "no spaces" }, "feed.name", "feedadmin.error.name"},
		{"no parser", func(f *Feed) { f.Parser = "" }, "feed.parser", "feedadmin.error.parser"},
		{"accuracy", func(f *Feed) { f.Accuracy = 101 }, "feed.accuracy", "feedadmin.error.accuracy"},
		{"tlp", func(f *Feed) { f.TLP = "purple" }, "feed.tlp", "feedadmin.error.tlp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := good
			tt.change(&f)
			var ce *Error
			if err := ValidateFeed("feed", f); !errors.As(err, &ce) || ce.Key != tt.key || ce.Message.ID != tt.id {
				t.Errorf("ValidateFeed = %v, want key %s and message %s", err, tt.key, tt.id)
			}
		})
	}
	// The file is checked with the same function, under its own keys.
	cfg := Default()
	cfg.Feeds = append(cfg.Feeds, Feed{Name: "x", Parser: "csv", TLP: "purple"})
	var ce *Error
	if err := cfg.Validate(); !errors.As(err, &ce) || ce.Key != "feeds[1].tlp" {
		t.Errorf("Validate = %v, want feeds[1].tlp", err)
	}
}

func TestFeedYAMLRoundTrip(t *testing.T) {
	no := false
	f := Feed{Name: "blocklist", Provider: "abuse.ch", Enabled: &no, Collector: "http",
		CollectorOptions: map[string]any{"url": "https://example.org/list.csv", "interval": "30m"},
		Parser:           "csv", ParserOptions: map[string]any{"columns": []any{"source.ip", "time.source"}}, TLP: "GREEN", Accuracy: 80}
	raw, err := FeedYAML(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseFeed(raw)
	if err != nil {
		t.Fatalf("ParseFeed(%s) = %v", raw, err)
	}
	again, _ := FeedYAML(got)
	if string(again) != string(raw) || got.IsEnabled() {
		t.Errorf("round trip:\n%s\nbecame\n%s", raw, again)
	}
	if _, err := ParseFeed([]byte("name: x\nparser: csv\nbogus: 1\n")); err == nil {
		t.Error("ParseFeed accepted an unknown key")
	}
}

func TestEffectiveFeeds(t *testing.T) {
	yes, no := true, false
	file := []Feed{{Name: "inbox", Parser: "auto"}, {Name: "scan", Parser: "shadowserver"}, {Name: "old", Parser: "csv", Enabled: &no}}
	changed, _ := FeedYAML(Feed{Name: "scan", Parser: "csv", Provider: "console"})
	added, _ := FeedYAML(Feed{Name: "phish", Parser: "json"})
	overrides := []feedadmin.Override{
		{Name: "inbox", Paused: &yes},
		{Name: "old", Paused: &no},
		{Name: "phish", Definition: added},
		{Name: "scan", Definition: changed},
		{Name: "broken", Definition: []byte("name: broken\nparser: \"\"\n")},
		{Name: "gone", Paused: &yes},
	}
	got := EffectiveFeeds(file, overrides)
	byName := map[string]EffectiveFeed{}
	var order []string
	for _, f := range got {
		byName[f.Name] = f
		order = append(order, f.Name)
	}
	if want := "inbox scan old broken phish"; join(order) != want {
		t.Errorf("order = %q, want %q", join(order), want)
	}
	if f := byName["inbox"]; f.Origin != OriginFile || f.Runs() || !f.Paused() {
		t.Errorf("paused file feed = %+v", f)
	}
	if f := byName["old"]; !f.Runs() || f.Paused() {
		t.Errorf("a disabled file feed resumed in the console = %+v", f)
	}
	if f := byName["scan"]; f.Origin != OriginChanged || f.Parser != "csv" || f.File == nil || f.File.Parser != "shadowserver" || !f.Runs() {
		t.Errorf("changed feed = %+v", f)
	}
	if f := byName["phish"]; f.Origin != OriginAdded || f.Parser != "json" {
		t.Errorf("added feed = %+v", f)
	}
	if f := byName["broken"]; f.Origin != OriginAdded || f.Problem.IsZero() {
		t.Errorf("broken override = %+v", f)
	}
	if _, ok := byName["gone"]; ok {
		t.Error("a pause of a feed gone from the file made a feed")
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// TestChangeOnlyWhatChanged: saving a feed's form unchanged writes no
// override, and changing a file's feed back to the file's definition makes
// it the file's again, unless it was paused or resumed by hand.
func TestChangeOnlyWhatChanged(t *testing.T) {
	ctx := t.Context()
	st := dbtest.SQLite(t, feedadmindb.Schema)
	m := &FeedManager{File: []Feed{DefaultInboxFeed()}, Store: &auditedFeeds{Store: feedadmindb.New(st.DB())}}
	origin := func() Origin {
		t.Helper()
		f, err := m.Get(ctx, "inbox")
		if err != nil {
			t.Fatal(err)
		}
		return f.Origin
	}
	file := DefaultInboxFeed()
	if err := m.Change(ctx, "inbox", file, FeedActor{Name: "ana"}); err != nil {
		t.Fatal(err)
	}
	if got := origin(); got != OriginFile {
		t.Fatalf("after saving the file's definition unchanged: origin %v, want the file", got)
	}
	changed := file
	changed.TLP = "amber"
	if err := m.Change(ctx, "inbox", changed, FeedActor{Name: "ana"}); err != nil {
		t.Fatal(err)
	}
	if got := origin(); got != OriginChanged {
		t.Fatalf("after a change: origin %v, want changed", got)
	}
	before, err := m.Store.GetFeedOverride(ctx, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Change(ctx, "inbox", changed, FeedActor{Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	after, err := m.Store.GetFeedOverride(ctx, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	if after.UpdatedBy != before.UpdatedBy {
		t.Errorf("saving the same change again rewrote the override: by %q, was %q", after.UpdatedBy, before.UpdatedBy)
	}
	if err := m.Change(ctx, "inbox", file, FeedActor{Name: "ana"}); err != nil {
		t.Fatal(err)
	}
	if got := origin(); got != OriginFile {
		t.Errorf("after changing back to the file's definition: origin %v, want the file", got)
	}
	// Paused by hand, a feed changed back keeps its override (the pause).
	if err := m.Change(ctx, "inbox", changed, FeedActor{Name: "ana"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetPaused(ctx, "inbox", true, FeedActor{Name: "ana"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Change(ctx, "inbox", file, FeedActor{Name: "ana"}); err != nil {
		t.Fatal(err)
	}
	f, err := m.Get(ctx, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Paused() || f.TLP != file.TLP {
		t.Errorf("paused feed changed back: paused %v, tlp %q; want paused with the file's definition", f.Paused(), f.TLP)
	}
}
