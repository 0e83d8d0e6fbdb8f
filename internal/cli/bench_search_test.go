package cli

import (
	"regexp"
	"strconv"
	"testing"
)

// TestBenchSearch loads a small store with `vigil bench search` and checks
// that each of its five searches finds events: the values it looks for are
// those of a stored event, and the day searched lies inside the days the
// events were observed over. A second run reuses the kept database.
func TestBenchSearch(t *testing.T) {
	dir := t.TempDir()
	for _, pass := range []string{"loading", "reused"} {
		code, out, errOut := run(t, "", "bench", "search", "--dir", dir, "--rows", "3000")
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", pass, code, out, errOut)
		}
		found := map[string]int{}
		for _, m := range regexp.MustCompile(`search (\w+) +\S+ +first page +(\d+) events`).FindAllStringSubmatch(out, -1) {
			found[m[1]], _ = strconv.Atoi(m[2])
		}
		for _, kind := range []string{"ip", "cidr", "asn", "fqdn", "day"} {
			if found[kind] == 0 {
				t.Errorf("%s: the %s search found nothing:\n%s", pass, kind, out)
			}
		}
		// 3,000 events over 30 days: 100 a day, a first page of 50.
		if found["day"] != 50 {
			t.Errorf("%s: a day should fill a first page: %v\n%s", pass, found, out)
		}
	}
}
