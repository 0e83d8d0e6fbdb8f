package event

import "testing"

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
