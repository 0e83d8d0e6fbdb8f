package event

import (
	"fmt"
	"slices"
	"testing"
)

func TestAppendTrusted(t *testing.T) {
	var in, out Event
	for _, k := range []string{"a", "c", "e"} {
		in.AppendTrusted(k, k)
	}
	// Out of order and repeated keys still land in place.
	in.AppendTrusted("b", "b")
	in.AppendTrusted("e", "E")
	for _, k := range []string{"a", "b", "c"} {
		out.SetTrusted(k, k)
	}
	out.SetTrusted("e", "E")
	if string(in.AppendJSON(nil)) != string(out.AppendJSON(nil)) {
		t.Errorf("AppendTrusted gives %s, SetTrusted %s", in.AppendJSON(nil), out.AppendJSON(nil))
	}
}

// TestMakeSorted: the fields MakeSorted returns are the event's own, so
// filling them fills the event, and the room asked for takes the fields
// set later without moving them.
func TestMakeSorted(t *testing.T) {
	e, fields := MakeSorted(2, 3)
	fields[0] = Field{Key: "source.ip", Value: "192.0.2.1"}
	fields[1] = Field{Key: "source.port", Value: "3389"}
	if e.Len() != 2 || e.Value("source.ip") != "192.0.2.1" || e.Value("source.port") != "3389" {
		t.Fatalf("the event holds %v, not what its fields were filled with", e.Fields())
	}
	for _, k := range []string{"time.observation", "event_hash", "feed.name"} {
		e.SetTrusted(k, "x")
	}
	if &e.Fields()[0] != &fields[0] { // the same array, its first place
		t.Error("setting three fields moved the event's fields out of the room asked for")
	}
	want := NewSorted([]Field{{Key: "event_hash", Value: "x"}, {Key: "feed.name", Value: "x"},
		{Key: "source.ip", Value: "192.0.2.1"}, {Key: "source.port", Value: "3389"}, {Key: "time.observation", Value: "x"}}, 0)
	if string(e.AppendJSON(nil)) != string(want.AppendJSON(nil)) {
		t.Errorf("MakeSorted's event is %s, want %s", e.AppendJSON(nil), want.AppendJSON(nil))
	}
}

// TestArenaEventsAreTheirOwn: events made from one arena, of sizes that
// fill its arrays unevenly and some too large for them, hold what they
// were filled with while their neighbours are filled, grown past their
// room and emptied, and each is what MakeSorted makes of the same fields.
func TestArenaEventsAreTheirOwn(t *testing.T) {
	var a Arena
	type made struct {
		e    *Event
		want []Field
	}
	var all []made
	for i := range 3 * arenaEvents {
		n, room := 1+i%37, i%5
		if i%50 == 7 {
			n = arenaFields / 3 // an array of its own
		}
		e, fields := a.MakeSorted(n, room)
		if len(fields) != n || cap(fields) != n+room {
			t.Fatalf("event %d: %d fields with room for %d, want %d and %d", i, len(fields), cap(fields), n, n+room)
		}
		for j := range fields {
			fields[j] = Field{Key: fmt.Sprintf("extra.k%04d", j), Value: fmt.Sprintf("%d.%d", i, j)}
		}
		all = append(all, made{e, slices.Clone(fields)})
		// The event before this one grows past its room, or is emptied:
		// neither may reach this one's fields, nor the next one's.
		if i > 0 {
			prev := &all[i-1]
			switch i % 3 {
			case 0:
				for j := range room + 3 {
					k := fmt.Sprintf("extra.z%04d", j)
					prev.e.SetTrusted(k, "grown")
					prev.want = append(prev.want, Field{Key: k, Value: "grown"})
				}
			case 1:
				for _, f := range prev.want {
					prev.e.Delete(f.Key)
				}
				prev.want = nil
			}
		}
	}
	for i, m := range all {
		if got := m.e.Fields(); !slices.Equal(got, m.want) {
			t.Fatalf("event %d holds %v, want %v", i, got, m.want)
		}
		alone, fields := MakeSorted(len(m.want), 0)
		copy(fields, m.want)
		if string(m.e.AppendJSON(nil)) != string(alone.AppendJSON(nil)) || m.e.Hash() != alone.Hash() {
			t.Fatalf("event %d is %s, MakeSorted's %s", i, m.e.AppendJSON(nil), alone.AppendJSON(nil))
		}
	}
}
