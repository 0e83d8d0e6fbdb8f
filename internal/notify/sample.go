package notify

import (
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// sampleTime is the fixed time of the sample data, so that previews and
// checks do not depend on the clock.
var sampleTime = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)

// SampleEvents returns a few events of the kinds constituents are told
// about most (an open DNS resolver, an exposed RDP service, a Mirai
// infection, a phishing page), on documentation addresses, for template
// previews when the console has no real events at hand.
func SampleEvents() []store.StoredEvent {
	rows := []map[string]string{
		{
			"time.source": "2026-11-19T03:12:44+00:00", "classification.taxonomy": "vulnerable",
			"classification.type": "ddos-amplifier", "classification.identifier": "open-dns",
			"source.ip": "192.0.2.53", "source.port": "53", "protocol.transport": "udp", "protocol.application": "dns",
			"source.asn": "64500", "feed.name": "shadowserver-scan-dns", "tlp": "AMBER",
		},
		{
			"time.source": "2026-11-19T04:01:02+00:00", "classification.taxonomy": "vulnerable",
			"classification.type": "potentially-unwanted-accessible", "classification.identifier": "open-rdp",
			"source.ip": "192.0.2.89", "source.port": "3389", "protocol.transport": "tcp", "protocol.application": "rdp",
			"source.asn": "64500", "feed.name": "shadowserver-scan-rdp", "tlp": "AMBER",
		},
		{
			"time.source": "2026-11-19T05:30:00+00:00", "classification.taxonomy": "malicious-code",
			"classification.type": "infected-system", "classification.identifier": "mirai", "malware.name": "mirai",
			"source.ip": "198.51.100.23", "source.port": "51234", "destination.ip": "203.0.113.5", "destination.port": "23",
			"protocol.transport": "tcp", "source.asn": "64501", "feed.name": "shadowserver-sinkhole", "tlp": "AMBER",
		},
		{
			"time.source": "2026-11-19T05:45:10+00:00", "classification.taxonomy": "fraud",
			"classification.type": "phishing", "source.url": "https://login.example.org.invalid/bank/",
			"source.fqdn": "login.example.org.invalid", "source.ip": "192.0.2.80", "feed.name": "phishing-reports", "tlp": "CLEAR",
		},
	}
	out := make([]store.StoredEvent, 0, len(rows))
	for _, r := range rows {
		e := event.New(len(r))
		for _, k := range event.SortedKeys(r) {
			if err := e.Set(k, r[k]); err != nil {
				panic("notify: sample event: " + err.Error()) // fixed data; a test covers it
			}
		}
		out = append(out, store.StoredEvent{Hash: e.Hash(), Stored: sampleTime, Event: e})
	}
	return out
}

// SampleOrganisation is the organisation previews use when none is chosen.
func SampleOrganisation() constituency.Organisation {
	return constituency.Organisation{ID: 1, Handle: "example-university", Name: "Example University", Sector: "education", Country: "BE", Language: "en"}
}

func sampleOrgData() OrgData {
	o := SampleOrganisation()
	return OrgData{Handle: o.Handle, Name: o.Name, Sector: o.Sector, Country: o.Country}
}

// sampleMessageData fills every field of MessageData, so that executing a
// template with it reaches every branch a real message can.
func sampleMessageData(lang string) MessageData {
	return MessageData{
		Kind: NameDigest, Language: lang, Format: FormatSummary,
		Org:  sampleOrgData(),
		Team: TeamData{Name: "Example CERT", Email: "cert@example.org"},
		Type: "infected-system", Events: 2, Total: 4, Part: 1, Parts: 2,
		First: sampleTime.Add(-3 * time.Hour), Last: sampleTime.Add(-time.Hour),
		Sections: []Section{{
			Type: "ddos-amplifier", Taxonomy: "vulnerable", Identifiers: []string{"open-dns"}, Count: 2,
			Explanation: "Open DNS resolvers (ddos-amplifier)", Table: "TIME.SOURCE  SOURCE.IP\n…", Shown: 1, More: 1,
		}},
		Repeats:     []Repeat{{Summary: "ddos-amplifier/open-dns 192.0.2.53:53 (dns)", Times: 2, FirstSent: sampleTime.Add(-48 * time.Hour)}},
		MoreRepeats: 1,
		Attachments: []Attachment{{Name: "example-university-20261120T0600-part1.csv", Events: 2}},
		PortalURL:   "https://portal.example.org",
		WindowDays:  7,
		Date:        sampleTime,
	}
}

func sampleTypeData(lang string) TypeData {
	return TypeData{Type: "ddos-amplifier", Taxonomy: "vulnerable", Identifiers: []string{"open-dns", "open-ntp"}, Count: 2, Org: sampleOrgData(), Language: lang}
}
