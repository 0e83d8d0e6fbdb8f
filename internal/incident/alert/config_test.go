package alert

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/incident"
)

func TestRuleMatches(t *testing.T) {
	acme := Organisation{ID: 7, Handle: "acme", Name: "ACME Bank"}
	rdp := Target{Taxonomy: "vulnerable", Type: "vulnerable-system", Feed: "Shadowserver scan_rdp", Org: acme}
	tests := []struct {
		name string
		rule Rule
		t    Target
		want bool
	}{
		{"taxonomy", Rule{Taxonomy: "vulnerable"}, rdp, true},
		{"other taxonomy", Rule{Taxonomy: "malicious-code"}, rdp, false},
		{"type", Rule{Type: "vulnerable-system"}, rdp, true},
		{"other type", Rule{Type: "infected-system"}, rdp, false},
		{"feed, any case", Rule{Type: "vulnerable-system", Feed: "shadowserver SCAN_RDP"}, rdp, true},
		{"other feed", Rule{Type: "vulnerable-system", Feed: "Shadowserver scan_smb"}, rdp, false},
		{"constituent by handle", Rule{Type: "vulnerable-system", Constituent: "acme"}, rdp, true},
		{"constituent by name", Rule{Type: "vulnerable-system", Constituent: "acme bank"}, rdp, true},
		{"constituent by id", Rule{Type: "vulnerable-system", Constituent: "7"}, rdp, true},
		{"another constituent", Rule{Type: "vulnerable-system", Constituent: "beta"}, rdp, false},
		{"another id", Rule{Type: "vulnerable-system", Constituent: "8"}, rdp, false},
		{"constituent, event of none", Rule{Type: "vulnerable-system", Constituent: "acme"},
			Target{Taxonomy: "vulnerable", Type: "vulnerable-system"}, false},
		{"id 0 never names an unknown handle", Rule{Type: "vulnerable-system", Constituent: "0"},
			Target{Taxonomy: "vulnerable", Type: "vulnerable-system", Org: Organisation{Handle: "gone"}}, false},
		{"unknown handle by handle", Rule{Type: "vulnerable-system", Constituent: "gone"},
			Target{Taxonomy: "vulnerable", Type: "vulnerable-system", Org: Organisation{Handle: "gone"}}, true},
		{"every field", Rule{Taxonomy: "vulnerable", Type: "vulnerable-system", Feed: "Shadowserver scan_rdp", Constituent: "acme"}, rdp, true},
		{"every field but one", Rule{Taxonomy: "vulnerable", Type: "vulnerable-system", Feed: "x", Constituent: "acme"}, rdp, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.Matches(tt.t); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFirstRuleDecides(t *testing.T) {
	rules := []Rule{{Type: "infected-system"}, {Taxonomy: "vulnerable", Severity: "high"}, {Type: "vulnerable-system"}}
	if i := Match(rules, Target{Taxonomy: "vulnerable", Type: "vulnerable-system"}); i != 1 {
		t.Errorf("Match = %d, want 1", i)
	}
	if i := Match(rules, Target{Taxonomy: "fraud", Type: "phishing"}); i != -1 {
		t.Errorf("Match of no rule = %d, want -1", i)
	}
}

func TestValidate(t *testing.T) {
	ok := Config{Interval: time.Second, Rules: []Rule{{Taxonomy: "vulnerable", Severity: incident.SeverityHigh, MinCount: 10}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	tests := []struct {
		name string
		cfg  Config
		key  string
		want string
	}{
		{"interval", Config{Interval: time.Millisecond}, "incident_alerts.interval", "Give an interval from 100ms to 1h (got 1ms)"},
		{"nothing chosen", Config{Interval: time.Second, Rules: []Rule{{Feed: "x"}}}, "incident_alerts.rules[0].type", "Set a taxonomy or a type"},
		{"taxonomy", Config{Interval: time.Second, Rules: []Rule{{Taxonomy: "vulnerabel"}}}, "incident_alerts.rules[0].taxonomy", `"vulnerabel" is not`},
		{"type", Config{Interval: time.Second, Rules: []Rule{{Type: "scan"}}}, "incident_alerts.rules[0].type", `"scan" is not`},
		{"type of another taxonomy", Config{Interval: time.Second, Rules: []Rule{{Taxonomy: "fraud", Type: "scanner"}}},
			"incident_alerts.rules[0].type", `belongs to taxonomy "information-gathering"`},
		{"severity", Config{Interval: time.Second, Rules: []Rule{{Type: "scanner"}, {Type: "scanner", Severity: "urgent"}}},
			"incident_alerts.rules[1].severity", `got "urgent"`},
		{"min_count", Config{Interval: time.Second, Rules: []Rule{{Type: "scanner", MinCount: -1}}}, "incident_alerts.rules[0].min_count", "from 0 to"},
		{"long name", Config{Interval: time.Second, Rules: []Rule{{Type: "scanner", Name: strings.Repeat("x", 201)}}}, "incident_alerts.rules[0].name", "at most 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate = %v, want a *ConfigError", err)
			}
			if ce.Key != tt.key || !strings.Contains(ce.Error(), tt.want) || ce.Message.IsZero() {
				t.Errorf("Validate = %q at %s (message %v), want %q at %s", ce.Error(), ce.Key, ce.Message, tt.want, tt.key)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	for typ, want := range map[string]incident.Kind{"phishing": incident.KindPhishing, "infected-system": incident.KindMalware,
		"vulnerable-system": incident.KindVulnerability, "scanner": incident.KindOther} {
		if got := KindOf(typ); got != want {
			t.Errorf("KindOf(%s) = %s, want %s", typ, got, want)
		}
	}
}
