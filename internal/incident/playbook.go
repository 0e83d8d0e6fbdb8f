package incident

import (
	"fmt"
	"time"
)

// SLA is how long an incident of each severity may take to be resolved:
// its due time is its creation plus this. A severity missing from the
// map has no due time.
type SLA map[Severity]time.Duration

// DefaultSLA is the team's SLA unless the configuration overrides it.
var DefaultSLA = SLA{
	SeverityCritical: 4 * time.Hour,
	SeverityHigh:     24 * time.Hour,
	SeverityMedium:   3 * 24 * time.Hour,
	SeverityLow:      10 * 24 * time.Hour,
}

// With returns a copy of s with the durations of overrides replacing
// its own; the zero duration removes a severity's due time.
func (s SLA) With(overrides SLA) SLA {
	out := make(SLA, len(s))
	for k, v := range s {
		out[k] = v
	}
	for k, v := range overrides {
		if v == 0 {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// Check refuses an unknown severity or a negative duration.
func (s SLA) Check() error {
	for k, v := range s {
		if !k.Valid() || v < 0 {
			return fmt.Errorf("incident SLA: %q: %v is not a severity and a duration", k, v)
		}
	}
	return nil
}

// Due returns when an incident of severity sev created at created is
// due; the zero time when the SLA sets none.
func (s SLA) Due(sev Severity, created time.Time) time.Time {
	d, ok := s[sev]
	if !ok || d <= 0 {
		return time.Time{}
	}
	return created.Add(d)
}

// defaultSeverity is the severity an incident opened from a report of a
// kind starts with, until an analyst says otherwise.
var defaultSeverity = map[Kind]Severity{
	KindPhishing:      SeverityMedium,
	KindFakeWebsite:   SeverityMedium,
	KindHackedAccount: SeverityMedium,
	KindMalware:       SeverityHigh,
	KindFraud:         SeverityMedium,
	KindDataLeak:      SeverityHigh,
	KindDoS:           SeverityHigh,
	KindVulnerability: SeverityMedium,
	KindOther:         SeverityLow,
}

// DefaultSeverity returns the severity an incident of kind k starts with.
func DefaultSeverity(k Kind) Severity {
	if s, ok := defaultSeverity[k]; ok {
		return s
	}
	return SeverityLow
}

// Playbook is the tasks the team does for one kind of incident, in
// order. Each step is a short name; its title is the catalogue's
// "incident.task.<step>", in the language of whoever adds it.
type Playbook struct {
	Name  string
	Steps []string
}

// playbooks are the team's playbooks, one a kind.
var playbooks = map[Kind]Playbook{
	KindPhishing:      {"phishing", []string{"headers", "takedown", "brand", "blocklist", "reply"}},
	KindFakeWebsite:   {"fake_website", []string{"evidence", "whois", "takedown", "brand", "blocklist", "reply"}},
	KindHackedAccount: {"hacked_account", []string{"scope", "reset", "mfa", "logins", "reply"}},
	KindMalware:       {"malware", []string{"sample", "analyse", "indicators", "isolate", "reply"}},
	KindFraud:         {"fraud", []string{"evidence", "police", "payment", "blocklist", "reply"}},
	KindDataLeak:      {"data_leak", []string{"verify", "owner", "dpa", "remove", "reply"}},
	KindDoS:           {"dos", []string{"traffic", "sources", "mitigate", "reply"}},
	KindVulnerability: {"vulnerability", []string{"verify", "vendor", "disclosure", "advisory", "reply"}},
	KindOther:         {"other", []string{"assess", "reply"}},
}

// PlaybookFor returns the playbook of an incident: its kind's, or, for
// an incident of kind "other", the playbook of the first kind filed
// under the same RSIT type (an incident reclassified as phishing by an
// analyst gets the phishing playbook).
func PlaybookFor(k Kind, classificationType string) Playbook {
	if k != KindOther {
		if p, ok := playbooks[k]; ok {
			return p
		}
	}
	for _, kind := range Kinds {
		if kindTypes[kind] == classificationType && kind != KindOther {
			return playbooks[kind]
		}
	}
	return playbooks[KindOther]
}

// Playbooks returns every playbook, in the order of Kinds.
func Playbooks() []Playbook {
	out := make([]Playbook, 0, len(Kinds))
	for _, k := range Kinds {
		out = append(out, playbooks[k])
	}
	return out
}

// Has reports whether step is one of the playbook's.
func (p Playbook) Has(step string) bool { return oneOf(step, p.Steps) }

// TaskKey is the catalogue key of a playbook step's title.
func TaskKey(step string) string { return "incident.task." + step }

// KindKey is the catalogue key of a kind's short name (".label": a key
// ending in ".other" would be a plural form).
func KindKey(k Kind) string { return "incident.kind." + string(k) + ".label" }
