package notify

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
)

// stored returns the events stored with source.ip ip, newest first.
func (e *env) stored(ip string) []store.StoredEvent {
	e.t.Helper()
	page, err := e.db.SearchEvents(e.ctx, store.EventQuery{IP: netip.MustParseAddr(ip), Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(page.Events) == 0 {
		e.t.Fatalf("no event of %s stored", ip)
	}
	return page.Events
}

func (e *env) markFalsePositive(ip, reason string) {
	e.t.Helper()
	marks, err := FalsePositiveMarks(e.stored(ip), reason, 1, "alice", day1)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.MarkFalsePositives(e.ctx, marks); err != nil {
		e.t.Fatal(err)
	}
}

// texts returns the readable dumps of the organisation's messages.
func (e *env) texts() []string {
	var out []string
	for _, m := range e.messages() {
		text, _ := e.read(m)
		out = append(out, text)
	}
	return out
}

func TestFalsePositiveNotNotified(t *testing.T) { bothReads(t, testFalsePositiveNotNotified) }

// testFalsePositiveNotNotified: a marked observation is dropped from the
// queue untold, and so is every later sighting of it, until the mark is
// removed.
func testFalsePositiveNotNotified(t *testing.T) {
	e := newEnv(t, nil)
	e.put([]map[string]string{scan("192.0.2.10"), scan("192.0.2.11")})
	e.markFalsePositive("192.0.2.10", "our own honeypot")
	rep := e.run(day1)
	if rep.FalsePositives != 1 || rep.Notified != 1 || rep.Consumed != 2 || rep.Messages != 1 || e.pending() != 0 {
		t.Fatalf("first pass: %+v", rep)
	}
	texts := e.texts()
	if len(texts) != 1 || strings.Contains(texts[0], "192.0.2.10") || !strings.Contains(texts[0], "192.0.2.11") {
		t.Fatalf("the digest tells the false positive or misses the other:\n%s", strings.Join(texts, "\n---\n"))
	}

	// Seen again the next day, from the feed: still not told, nor
	// counted as seen again.
	e.put([]map[string]string{scan("192.0.2.10")})
	rep = e.run(day1.Add(25 * time.Hour))
	if rep.FalsePositives != 1 || rep.Notified != 0 || rep.Repeats != 0 || rep.Messages != 0 || e.pending() != 0 {
		t.Fatalf("after re-ingesting it: %+v", rep)
	}

	// Unmarked, its next sighting is told.
	if n, err := e.db.UnmarkFalsePositives(e.ctx, ObservationKeys(e.stored("192.0.2.10"))); err != nil || n != 1 {
		t.Fatalf("UnmarkFalsePositives = %d, %v", n, err)
	}
	e.put([]map[string]string{scan("192.0.2.10")})
	rep = e.run(day1.Add(49 * time.Hour))
	if rep.FalsePositives != 0 || rep.Notified != 1 || rep.Messages != 1 {
		t.Fatalf("after unmarking: %+v", rep)
	}
	if texts := e.texts(); len(texts) != 2 || !strings.Contains(texts[1], "192.0.2.10") {
		t.Errorf("the unmarked observation is not in the last digest")
	}
}

func TestFalsePositiveReason(t *testing.T) {
	se := []store.StoredEvent{{Event: makeEvent(t, scan("192.0.2.1"))}}
	for _, tt := range []struct {
		reason, id string
	}{
		{"", "fp.error.reason"},
		{"  \n\t ", "fp.error.reason"},
		{strings.Repeat("é", MaxFalsePositiveReason+1), "fp.error.reasonlong"},
		{"bell\a", "fp.error.reasonbad"},
	} {
		_, err := FalsePositiveMarks(se, tt.reason, 1, "alice", day1)
		var ie *InputError
		if !errors.As(err, &ie) || !errors.Is(err, ErrInput) || ie.Message.ID != tt.id {
			t.Errorf("reason %q: %v, want %s", tt.reason, err, tt.id)
		}
	}
	if _, err := FalsePositiveMarks(nil, "why", 1, "alice", day1); !errors.Is(err, ErrInput) {
		t.Errorf("no events: %v", err)
	}
	many := make([]store.StoredEvent, MaxSelection+1)
	if _, err := FalsePositiveMarks(many, "why", 1, "alice", day1); !errors.Is(err, ErrInput) {
		t.Errorf("%d events: %v", len(many), err)
	}
	// Two sightings of one observation are one mark.
	two := []store.StoredEvent{se[0], {Hash: event.Hash{1}, Event: makeEvent(t, scan("192.0.2.1"))}}
	marks, err := FalsePositiveMarks(two, " a reason ", 1, "alice", day1)
	if err != nil || len(marks) != 1 || marks[0].Reason != "a reason" || marks[0].Key != Key(se[0].Event) {
		t.Errorf("marks = %+v, %v", marks, err)
	}
}

func TestNotifyNow(t *testing.T) { bothReads(t, testNotifyNow) }

// testNotifyNow: the chosen events go out at once in one signed message
// through the outbox, outside the daily digest, and the digest that
// follows does not repeat them; TLP:RED events, false positives and
// unknown organisations are left out and counted.
func testNotifyNow(t *testing.T) {
	e := newEnv(t, nil)
	e.put([]map[string]string{scan("192.0.2.1")})
	e.run(day1) // the daily digest of the day goes out
	red := scan("192.0.2.30")
	red["tlp"] = "RED"
	e.put([]map[string]string{scan("192.0.2.20"), scan("192.0.2.21"), red, scan("192.0.2.40")})
	e.put([]map[string]string{scan("192.0.2.50")}, "ghost")
	e.markFalsePositive("192.0.2.40", "a sensor of ours")
	var chosen []store.StoredEvent
	for _, ip := range []string{"192.0.2.20", "192.0.2.30", "192.0.2.40", "192.0.2.50"} {
		chosen = append(chosen, e.stored(ip)...)
	}
	kicks := e.kicks.Load()
	rep, err := e.n.NotifyNow(e.ctx, day1.Add(time.Hour), chosen)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Messages != 1 || rep.Notified != 1 || rep.Withheld != 1 || rep.FalsePositives != 1 ||
		len(rep.Organisations) != 1 || rep.Organisations[0] != "uni" || len(rep.Unknown) != 1 || rep.Unknown[0] != "ghost" {
		t.Fatalf("NotifyNow: %+v", rep)
	}
	if e.kicks.Load() != kicks+1 {
		t.Error("the outbox sender was not woken")
	}
	msgs := e.messages()
	if len(msgs) != 2 || msgs[1].Events != 1 {
		t.Fatalf("%d messages, want the digest and the one sent now", len(msgs))
	}
	// The event's page lists the message (the per-event log).
	if log, err := e.db.ListMessages(e.ctx, outbox.MessageQuery{EventHash: e.stored("192.0.2.20")[0].Hash}); err != nil ||
		len(log) != 1 || log[0].ID != msgs[1].ID {
		t.Errorf("messages of the event sent now: %+v, %v", log, err)
	}
	text, header := e.read(msgs[1])
	if !strings.Contains(text, "192.0.2.20") || strings.Contains(text, "192.0.2.21") || strings.Contains(text, "192.0.2.30") ||
		strings.Contains(text, "192.0.2.40") {
		t.Errorf("the message sent now:\n%s", text)
	}
	if to := header.Get("To"); !strings.Contains(to, "alice@uni.example") {
		t.Errorf("To: %s", to)
	}
	// The queue still holds the events not sent now (192.0.2.21, the
	// TLP:RED one, the false positive, and ghost's).
	if n := e.pending(); n != 4 {
		t.Errorf("%d pending after notifying now, want 4", n)
	}
	// A pass the same day tells nothing: the digest is not due (it
	// consumes the TLP:RED event at once, as always).
	if rep := e.run(day1.Add(2 * time.Hour)); rep.Messages != 0 || rep.Withheld != 1 {
		t.Errorf("a pass before the digest: %+v", rep)
	}
	// The next digest has 192.0.2.21 only.
	rep2 := e.run(day1.Add(25 * time.Hour))
	if rep2.Notified != 1 || rep2.FalsePositives != 1 || rep2.Messages != 1 {
		t.Fatalf("the next digest: %+v", rep2)
	}
	texts := e.texts()
	if last := texts[len(texts)-1]; strings.Contains(last, "192.0.2.20") || !strings.Contains(last, "192.0.2.21") {
		t.Errorf("the next digest:\n%s", last)
	}
	// A sighting of what was sent now is "seen again", not new.
	e.put([]map[string]string{scan("192.0.2.20")})
	if rep := e.run(day1.Add(49 * time.Hour)); rep.Notified != 0 || rep.Repeats != 1 {
		t.Errorf("a sighting of what was sent now: %+v", rep)
	}
}

func TestNotifyNowRefuses(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.n.NotifyNow(e.ctx, day1, nil); !errors.Is(err, ErrInput) {
		t.Errorf("no events: %v", err)
	}
	cfg := testConfig()
	if err := e.n.ApplyConfig(cfg); err != nil { // notify.enabled false
		t.Fatal(err)
	}
	e.put([]map[string]string{scan("192.0.2.1")})
	if _, err := e.n.NotifyNow(e.ctx, day1, e.stored("192.0.2.1")); !errors.Is(err, ErrDisabled) {
		t.Errorf("with notifications switched off: %v", err)
	}
	cfg.Enabled = true
	if err := e.n.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	e.n.SetIdentity(nil)
	e.put([]map[string]string{scan("192.0.2.1")})
	if _, err := e.n.NotifyNow(e.ctx, day1, e.stored("192.0.2.1")); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("without a team key: %v", err)
	}
	if len(e.messages()) != 0 || e.pending() != 2 {
		t.Error("something was sent or consumed")
	}
}

func TestFalsePositiveLeavesTheTally(t *testing.T) { bothReads(t, testFalsePositiveLeavesTheTally) }

// testFalsePositiveLeavesTheTally: an observation told, then seen again
// (counted in the "seen again" tally while no digest goes out), then
// marked a false positive is not listed "seen again" in the next digest.
func testFalsePositiveLeavesTheTally(t *testing.T) {
	e := newEnv(t, nil)
	e.put([]map[string]string{scan("192.0.2.10")})
	if rep := e.run(day1); rep.Notified != 1 {
		t.Fatalf("first pass: %+v", rep)
	}
	e.put([]map[string]string{scan("192.0.2.10")})
	if rep := e.run(day1.Add(25 * time.Hour)); rep.Repeats != 1 || rep.Messages != 0 {
		t.Fatalf("seen again alone: %+v, want one repeat counted and no message", rep)
	}
	e.markFalsePositive("192.0.2.10", "our own honeypot")
	e.put([]map[string]string{scan("192.0.2.11")})
	if rep := e.run(day1.Add(49 * time.Hour)); rep.Notified != 1 || rep.Messages != 1 {
		t.Fatalf("next digest: %+v", rep)
	}
	texts := e.texts()
	if last := texts[len(texts)-1]; strings.Contains(last, "192.0.2.10") || !strings.Contains(last, "192.0.2.11") {
		t.Errorf("the digest after the mark lists the false positive (or misses the new one):\n%s", last)
	}
}
