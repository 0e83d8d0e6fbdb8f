package notify

import (
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
)

// passCounts are the decisions of a pass, as its Report counts them.
type passCounts struct {
	Consumed, Waiting, Notified, Repeats, Duplicates, Filtered, Withheld, Messages, Undeliverable, Skipped int
}

func countsOf(r Report) passCounts {
	return passCounts{
		Consumed: r.Consumed, Waiting: r.Waiting, Notified: r.Notified, Repeats: r.Repeats, Duplicates: r.Duplicates,
		Filtered: r.Filtered, Withheld: r.Withheld, Messages: r.Messages, Undeliverable: r.Undeliverable, Skipped: len(r.Skipped),
	}
}

// passStep is one pass of a decision case: the events queued before it,
// when it runs, and what it decides.
type passStep struct {
	put  []map[string]string
	at   time.Time
	want passCounts
}

func withTLP(fields map[string]string, tlp string) map[string]string {
	fields["tlp"] = tlp
	return fields
}

// TestPassDecisions is the table of what a pass does with an
// organisation's queue: which events its policy selects, when they go out,
// what counts as told before, and what happens when nobody can receive
// them. Each case starts from a fresh store with one organisation,
// "uni", which has never had a digest.
// Its length is one data table, and it stays one function (issue 10).
func TestPassDecisions(t *testing.T) {
	keys(t)
	hour := func(h, m int) time.Time { return time.Date(2026, 11, 20, h, m, 0, 0, time.UTC) }
	day := func(n int) time.Time { return day1.Add(time.Duration(n-1) * 24 * time.Hour) }
	alice := constituency.Contact{Name: "Alice", Email: "alice@uni.example", Role: constituency.ContactAbuse, Notify: true}
	bob := constituency.Contact{Name: "Bob", Email: "bob@uni.example", Role: constituency.ContactSecurity, Notify: true, PGPKey: contactKey}
	carol := constituency.Contact{Name: "Carol", Email: "carol@uni.example", Role: constituency.ContactSecurity, Notify: true, PGPKey: expiredKey}
	quiet := constituency.Contact{Name: "Quiet", Email: "quiet@uni.example", Role: constituency.ContactManagement}
	enabled := func(edit func(*Policy)) *Policy {
		p := Policy{Enabled: true}
		if edit != nil {
			edit(&p)
		}
		return &p
	}
	immediateInfected := func(p *Policy) { p.Immediate = []string{"infected-system"} }

	for _, tc := range []struct {
		name        string
		teamDefault *Policy                // stored as the policy of OrgID 0
		own         *Policy                // the organisation's own
		contacts    []constituency.Contact // nil: Alice, plain
		steps       []passStep
	}{
		{name: "built-in default: the first digest is due at once",
			steps: []passStep{{put: []map[string]string{scan("192.0.2.53"), infected("198.51.100.7")}, at: day1,
				want: passCounts{Consumed: 2, Notified: 2, Messages: 1}}}},
		{name: "team default disabled",
			teamDefault: &Policy{Enabled: false},
			steps: []passStep{{put: []map[string]string{scan("192.0.2.53")}, at: day1,
				want: passCounts{Consumed: 1, Filtered: 1}}}},
		{name: "own policy replaces a disabled team default",
			teamDefault: &Policy{Enabled: false},
			own:         enabled(nil),
			steps: []passStep{{put: []map[string]string{scan("192.0.2.53")}, at: day1,
				want: passCounts{Consumed: 1, Notified: 1, Messages: 1}}}},
		{name: "own policy disabled",
			own: &Policy{Enabled: false},
			steps: []passStep{{put: []map[string]string{scan("192.0.2.53")}, at: day1,
				want: passCounts{Consumed: 1, Filtered: 1}}}},
		{name: "taxonomy selects",
			own: enabled(func(p *Policy) { p.Taxonomies = []string{"vulnerable"} }),
			steps: []passStep{{put: []map[string]string{scan("192.0.2.53"), infected("198.51.100.7")}, at: day1,
				want: passCounts{Consumed: 2, Notified: 1, Filtered: 1, Messages: 1}}}},
		{name: "type selects",
			own: enabled(func(p *Policy) { p.Types = []string{"infected-system"} }),
			steps: []passStep{{put: []map[string]string{scan("192.0.2.53"), infected("198.51.100.7")}, at: day1,
				want: passCounts{Consumed: 2, Notified: 1, Filtered: 1, Messages: 1}}}},
		{name: "feed selects",
			own: enabled(func(p *Policy) { p.Feeds = []string{"sinkhole"} }),
			steps: []passStep{{put: []map[string]string{scan("192.0.2.53"), infected("198.51.100.7")}, at: day1,
				want: passCounts{Consumed: 2, Notified: 1, Filtered: 1, Messages: 1}}}},
		{name: "TLP:RED withheld, in any case",
			steps: []passStep{{put: []map[string]string{withTLP(scan("192.0.2.53"), "RED"), withTLP(scan("192.0.2.54"), "red"),
				withTLP(scan("192.0.2.55"), "AMBER"), withTLP(scan("192.0.2.56"), "CLEAR")}, at: day1,
				want: passCounts{Consumed: 4, Notified: 2, Withheld: 2, Messages: 1}}}},
		{name: "a filtered TLP:RED event counts as filtered",
			own: enabled(func(p *Policy) { p.Types = []string{"infected-system"} }),
			steps: []passStep{{put: []map[string]string{withTLP(scan("192.0.2.53"), "RED")}, at: day1,
				want: passCounts{Consumed: 1, Filtered: 1}}}},
		{name: "immediate type goes at once, the rest waits for the digest",
			own: enabled(immediateInfected),
			steps: []passStep{
				{put: []map[string]string{scan("192.0.2.53")}, at: hour(6, 30),
					want: passCounts{Consumed: 1, Notified: 1, Messages: 1}},
				{put: []map[string]string{infected("198.51.100.7"), infected("198.51.100.8"), scan("192.0.2.54")}, at: hour(9, 0),
					want: passCounts{Consumed: 2, Notified: 2, Waiting: 1, Messages: 1}},
			}},
		{name: "digest off: only immediate types are sent",
			own: enabled(func(p *Policy) { immediateInfected(p); p.Digest = DigestOff }),
			steps: []passStep{{put: []map[string]string{scan("192.0.2.53"), infected("198.51.100.7")}, at: day1,
				want: passCounts{Consumed: 2, Notified: 1, Filtered: 1, Messages: 1}}}},
		{name: "daily digest: due at the digest time",
			steps: []passStep{
				{put: []map[string]string{scan("192.0.2.53")}, at: hour(6, 30),
					want: passCounts{Consumed: 1, Notified: 1, Messages: 1}},
				{put: []map[string]string{scan("192.0.2.54")}, at: day(2).Add(-31 * time.Minute),
					want: passCounts{Waiting: 1}},
				{at: day(2).Add(-30 * time.Minute),
					want: passCounts{Consumed: 1, Notified: 1, Messages: 1}},
			}},
		{name: "hourly digest: due at the hour",
			own: enabled(func(p *Policy) { p.Digest = DigestHourly }),
			steps: []passStep{
				{put: []map[string]string{scan("192.0.2.1")}, at: hour(10, 5),
					want: passCounts{Consumed: 1, Notified: 1, Messages: 1}},
				{put: []map[string]string{scan("192.0.2.2")}, at: hour(10, 59),
					want: passCounts{Waiting: 1}},
				{at: hour(11, 0),
					want: passCounts{Consumed: 1, Notified: 1, Messages: 1}},
			}},
		{name: "the same observation twice in one pass is told once",
			steps: []passStep{{put: []map[string]string{scan("192.0.2.53"), scan("192.0.2.53")}, at: day1,
				want: passCounts{Consumed: 2, Notified: 1, Duplicates: 1, Messages: 1}}}},
		{name: "repeats within the window are counted, not told",
			steps: []passStep{
				{put: []map[string]string{scan("192.0.2.53")}, at: day(1),
					want: passCounts{Consumed: 1, Notified: 1, Messages: 1}},
				{put: []map[string]string{scan("192.0.2.53")}, at: day(2),
					want: passCounts{Consumed: 1, Repeats: 1}},
				{put: []map[string]string{scan("192.0.2.53")}, at: day(3),
					want: passCounts{Consumed: 1, Repeats: 1}},
				{put: []map[string]string{scan("192.0.2.99")}, at: day(4),
					want: passCounts{Consumed: 1, Notified: 1, Messages: 1}},
			}},
		{name: "told again after the window",
			steps: []passStep{
				{put: []map[string]string{scan("192.0.2.53")}, at: day(1),
					want: passCounts{Consumed: 1, Notified: 1, Messages: 1}},
				{put: []map[string]string{scan("192.0.2.53")}, at: day(9),
					want: passCounts{Consumed: 1, Notified: 1, Messages: 1}},
			}},
		{name: "an immediate type repeated within the window",
			own: enabled(immediateInfected),
			steps: []passStep{
				{put: []map[string]string{infected("198.51.100.7")}, at: hour(7, 0),
					want: passCounts{Consumed: 1, Notified: 1, Messages: 1}},
				{put: []map[string]string{infected("198.51.100.7")}, at: hour(8, 0),
					want: passCounts{Consumed: 1, Repeats: 1}},
			}},
		{name: "encrypted and plain contacts: one message each",
			contacts: []constituency.Contact{alice, bob},
			steps: []passStep{{put: []map[string]string{scan("192.0.2.53")}, at: day1,
				want: passCounts{Consumed: 1, Notified: 1, Messages: 2}}}},
		{name: "a contact with an unusable key is skipped, the others told",
			contacts: []constituency.Contact{alice, carol},
			steps: []passStep{{put: []map[string]string{scan("192.0.2.53")}, at: day1,
				want: passCounts{Consumed: 1, Notified: 1, Messages: 1, Skipped: 1}}}},
		{name: "nobody marked to receive: undeliverable",
			contacts: []constituency.Contact{quiet},
			steps: []passStep{{put: []map[string]string{scan("192.0.2.53")}, at: day1,
				want: passCounts{Consumed: 1, Undeliverable: 1}}}},
		{name: "undeliverable is not told: no repeat later",
			contacts: []constituency.Contact{carol, quiet},
			steps: []passStep{
				{put: []map[string]string{scan("192.0.2.53")}, at: day(1),
					want: passCounts{Consumed: 1, Undeliverable: 1, Skipped: 1}},
				{put: []map[string]string{scan("192.0.2.53")}, at: day(2),
					want: passCounts{Consumed: 1, Undeliverable: 1, Skipped: 1}},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bothReads(t, func(t *testing.T) {
				e := newEnv(t, nil, tc.contacts...)
				if tc.teamDefault != nil {
					if err := e.db.PutNotificationPolicy(e.ctx, *tc.teamDefault); err != nil {
						t.Fatal(err)
					}
				}
				if tc.own != nil {
					p := *tc.own
					p.OrgID = e.org.ID
					if err := e.db.PutNotificationPolicy(e.ctx, p); err != nil {
						t.Fatal(err)
					}
				}
				for i, step := range tc.steps {
					if step.put != nil {
						e.put(step.put)
					}
					if got := countsOf(e.run(step.at)); got != step.want {
						t.Errorf("pass %d at %s:\n got %+v\nwant %+v", i+1, step.at.Format(time.DateTime), got, step.want)
					}
				}
			})
		})
	}
}
