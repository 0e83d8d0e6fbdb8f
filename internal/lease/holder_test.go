package lease

import (
	"strings"
	"testing"
)

func TestHolderRoundTrip(t *testing.T) {
	p := process{machine: machine{host: "vigil-1.cert.example", boot: "eb7a661e-7f5e-4bc4-bc91-0657c343c85a", pidNamespace: 4026531836},
		pid: 14293, start: 3242332, random: "9f3c2a1b"}
	const want = "vigil-1.cert.example/14293/9f3c2a1b boot=eb7a661e-7f5e-4bc4-bc91-0657c343c85a pidns=4026531836 start=3242332"
	if got := p.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	back, ok := parseHolder(want)
	if !ok || back != p {
		t.Fatalf("parseHolder(%q) = %+v, %v; want %+v", want, back, ok, p)
	}
	if got := Holder(); !strings.Contains(got, "/") {
		t.Errorf("Holder() = %q", got)
	}
	if a, b := Holder(), Holder(); a == b {
		t.Errorf("two holders of one process are both %q: a restarted process would not be a new holder", a)
	}
}

// TestParseHolderRefuses: a name that does not say all of its process is
// not parsed, so that its holder is never judged dead.
func TestParseHolderRefuses(t *testing.T) {
	for _, name := range []string{
		"",
		"a",
		"process-1",
		"vigil-1/14293/9f3c2a1b", // the names before they said their machine
		"vigil-1/14293/9f3c2a1b boot= pidns=4026531836 start=3242332",
		"vigil-1/14293/9f3c2a1b boot=x pidns=4026531836",
		"vigil-1/14293/9f3c2a1b boot=x pidns=4026531836 start=3242332 more=1",
		"vigil-1/14293/9f3c2a1b pidns=4026531836 boot=x start=3242332",
		"vigil-1/14293/9f3c2a1b boot=x pidns=-1 start=3242332",
		"vigil-1/14293/9f3c2a1b boot=x pidns=4026531836 start=later",
		"vigil-1/0/9f3c2a1b boot=x pidns=4026531836 start=3242332",
		"vigil-1/-3/9f3c2a1b boot=x pidns=4026531836 start=3242332",
		"vigil-1/pid/9f3c2a1b boot=x pidns=4026531836 start=3242332",
		"vigil/1/14293/9f3c2a1b boot=x pidns=4026531836 start=3242332", // a slash in the host name
		"/14293/9f3c2a1b boot=x pidns=4026531836 start=3242332",
		"vigil-1/14293/ boot=x pidns=4026531836 start=3242332",
		"vigil 1/14293/9f3c2a1b boot=x pidns=4026531836 start=3242332", // a space in it
	} {
		if p, ok := parseHolder(name); ok {
			t.Errorf("parseHolder(%q) = %+v, want refused", name, p)
		}
	}
}

// FuzzParseHolder: holder names come from the database, written by any
// process; what parses formats back to a name that parses alike.
func FuzzParseHolder(f *testing.F) {
	f.Add("vigil-1.cert.example/14293/9f3c2a1b boot=eb7a661e-7f5e-4bc4-bc91-0657c343c85a pidns=4026531836 start=3242332")
	f.Add("vigil-1/14293/9f3c2a1b")
	f.Add("vigil-1/014293/9f3c2a1b boot=x pidns=04 start=+3")
	f.Fuzz(func(t *testing.T, name string) {
		p, ok := parseHolder(name)
		if !ok {
			return
		}
		again, ok := parseHolder(p.String())
		if !ok || again != p {
			t.Fatalf("parseHolder(%q) = %+v, whose name %q parses to %+v, %v", name, p, p.String(), again, ok)
		}
	})
}
