package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestIncidentEventsCommand adds stored events to an incident from the
// shell and lists them.
func TestIncidentEventsCommand(t *testing.T) {
	data := t.TempDir()
	vigil := func(t *testing.T, want int, args ...string) (string, string) {
		t.Helper()
		code, out, errOut := run(t, "", append(args, "--data", data)...)
		if code != want {
			t.Fatalf("vigil %s: exit %d, want %d:\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out, errOut
	}
	out, _ := vigil(t, 0, "incident", "new", "--title", "Scanning from the university")
	if !strings.Contains(out, "incident 20") {
		t.Fatalf("new: %q", out)
	}
	tag := strings.Fields(out)[1]

	ctx := context.Background()
	raw, err := sqlitestore.Open(ctx, filepath.Join(data, "vigil.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := database.New(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	var events []*event.Event
	for i, ip := range []string{"192.0.2.1", "192.0.2.2"} {
		e := event.New(6)
		e.SetTime("time.source", time.Date(2026, 3, 1, 10, i, 0, 0, time.UTC))
		e.SetTrusted("classification.taxonomy", "information-gathering")
		e.SetTrusted("classification.type", "scanner")
		e.SetTrusted("source.ip", ip)
		e.SetTrusted("feed.name", "scans")
		events = append(events, e)
		hashes = append(hashes, e.Hash().String())
	}
	if _, err := st.InsertEvents(ctx, events, nil); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	out, _ = vigil(t, 0, "incident", "events", tag)
	if !strings.Contains(out, "the incident holds no events") {
		t.Errorf("no events yet: %q", out)
	}
	out, _ = vigil(t, 0, "incident", "events", tag, "--add", strings.Join(hashes, ","))
	if !strings.Contains(out, "incident "+tag+": 2 events added") || !strings.Contains(out, "2026-03-01 10:01  scanner  192.0.2.2") ||
		!strings.Contains(out, hashes[0]) || !strings.Contains(out, "2 shown of 2") {
		t.Errorf("add and list:\n%s", out)
	}
	out, _ = vigil(t, 0, "incident", "events", tag, "--json")
	if strings.Count(out, `"added_by":"cli"`) != 2 {
		t.Errorf("json:\n%s", out)
	}
	_, errOut := vigil(t, 1, "incident", "events", tag, "--add", strings.Repeat("ab", 32))
	if !strings.Contains(errOut, "no event is stored under the hash "+strings.Repeat("ab", 32)) {
		t.Errorf("an unknown hash: %q", errOut)
	}
	_, errOut = vigil(t, 1, "incident", "events", "2026-999")
	if !strings.Contains(errOut, "there is no incident 2026-999") {
		t.Errorf("an unknown incident: %q", errOut)
	}
	out, _ = vigil(t, 0, "incident", "show", tag)
	if !strings.Contains(out, "events_added") {
		t.Errorf("the timeline lacks the events added:\n%s", out)
	}
}
