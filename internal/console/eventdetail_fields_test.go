package console

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestEventSectionsAreFieldsLessHidden: an event's page shows every
// field of Fields but the hidden ones (raw, event_hash), each once, with
// the value linkedValues makes of it, each section's fields in key
// order, whether raw is held as bytes (as the store reads events), as
// text or not at all. eventSections reads FieldsExceptRaw, which never
// encodes raw; this shows the page is what Fields gave.
func TestEventSectionsAreFieldsLessHidden(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	withBytes := makeEvent(t, "feed-a", "192.0.2.1", at, "extra.note", `"x"`, "comment", "c", "destination.port", "443")
	withBytes.SetRaw([]byte{0x00, 0xff, 'z', ',', 'a'})
	stored, err := event.DecodeRecord(event.AppendRecord(nil, withBytes))
	if err != nil {
		t.Fatal(err)
	}
	asText := makeEvent(t, "feed-a", "192.0.2.2", at, "raw", "bGluZQ==", "extra.constituency", `["uni"]`)
	without := makeEvent(t, "feed-b", "2001:db8::1", at, "malware.name", "mirai")
	l := tableLinks{list: "/events", params: []string{"ip", "feed"}}
	for name, e := range map[string]*event.Event{"raw as bytes": withBytes, "raw decoded": stored, "raw as text": asText, "no raw": without} {
		t.Run(name, func(t *testing.T) {
			want := map[string][]linkedValue{}
			for _, f := range e.Fields() {
				if f.Key != "raw" && f.Key != "event_hash" {
					want[f.Key] = l.linkedValues(f.Key, displayValue(f.Key, f.Value))
				}
			}
			got := map[string][]linkedValue{}
			for _, s := range eventSections(store.StoredEvent{Hash: e.Hash(), Event: e}, l) {
				for i, f := range s.Fields {
					if _, twice := got[f.Key]; twice {
						t.Errorf("%s shown twice", f.Key)
					}
					got[f.Key] = f.Values
					if i > 0 && s.Fields[i-1].Key >= f.Key {
						t.Errorf("section %s: %s before %s", s.ID, s.Fields[i-1].Key, f.Key)
					}
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d fields shown, want %d (%v)", len(got), len(want), got)
			}
			for k, v := range want {
				if !slices.Equal(got[k], v) {
					t.Errorf("%s shown as %v, want %v", k, got[k], v)
				}
			}
			if len(want) < 6 {
				t.Fatalf("only %d fields: the event is not what the test means", len(want))
			}
		})
	}
}
