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
