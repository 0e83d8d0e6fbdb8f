// Package alert raises pipeline alerts: events of chosen kinds (by rule:
// classification taxonomy and type, feed, constituent) become reports of
// channel alert in the triage queue, one per organisation and
// classification type while it waits there; later events of the same
// organisation and type raise its counter instead of making another.
//
// The decisions a reader needs to know:
//   - The worker follows the event store in the order events were
//     stored (store.Events.EventsAfter) from a cursor kept in the state
//     table; the alerts a batch makes or updates and the cursor past it
//     are written in one transaction, so a crash loses and repeats
//     nothing.
//   - One process follows at a time (vigil serve holds the lease
//     "incident-alerts"); the cursor is compared in the transaction too,
//     so a second follower that slipped in writes nothing.
//   - The first rule that matches an event decides; an event tagged with
//     several organisations counts once for each of them.
package alert

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// Config is the incident_alerts section of the configuration.
type Config struct {
	// Interval is how often the worker looks for new events;
	// DefaultInterval when 0.
	Interval time.Duration `yaml:"interval"`
	// Rules choose the events that raise alerts; none: no alerts.
	Rules []Rule `yaml:"rules"`
}

// Rule chooses events. Every field set must match; a rule sets at least
// a taxonomy or a type.
type Rule struct {
	// Name names the rule in the alert (the reporter shown in the
	// queue); "rule N" when empty.
	Name     string `yaml:"name"`
	Taxonomy string `yaml:"taxonomy"`
	Type     string `yaml:"type"`
	// Feed is a feed's name (feed.name), compared without regard to case.
	Feed string `yaml:"feed"`
	// Constituent is an organisation's handle, name (without regard to
	// case) or id.
	Constituent string `yaml:"constituent"`
	// MinCount is how many matching events of one organisation and type
	// it takes to raise the alert (1 when 0); they are counted from the
	// last alert of the two that left the queue.
	MinCount int `yaml:"min_count"`
	// Severity is the alert's, and that of an incident opened from it;
	// the type's default when empty.
	Severity incident.Severity `yaml:"severity"`
}

// DefaultInterval is how often the worker looks for new events unless
// the configuration says otherwise.
const DefaultInterval = 5 * time.Second

// Every is the interval, DefaultInterval when none is set.
func (c Config) Every() time.Duration {
	if c.Interval == 0 {
		return DefaultInterval
	}
	return c.Interval
}

// Enabled reports whether any rule is configured.
func (c Config) Enabled() bool { return len(c.Rules) > 0 }

// MaxMinCount bounds a rule's min_count.
const MaxMinCount = 1_000_000

// maxRules bounds the rules, which every event is matched against.
const maxRules = 1000

// ConfigError is a problem at one key of the section, with its
// explanation in the catalogue.
type ConfigError struct {
	// Key is the key's dotted name, such as "incident_alerts.rules[0].type".
	Key     string
	Message i18n.Message
}

// Error is the problem in English, for the log.
func (e *ConfigError) Error() string { return e.Key + ": " + e.Message.String() }

func bad(key, id string, args ...any) error {
	return &ConfigError{Key: "incident_alerts." + key, Message: i18n.M(id, args...)}
}

// Validate checks the section and returns the first problem as a
// *ConfigError.
func (c Config) Validate() error {
	if c.Interval != 0 && (c.Interval < 100*time.Millisecond || c.Interval > time.Hour) {
		return bad("interval", "alerts.config.interval", c.Interval)
	}
	if len(c.Rules) > maxRules {
		return bad("rules", "alerts.config.rules", maxRules, len(c.Rules))
	}
	for i, r := range c.Rules {
		if err := r.validate(fmt.Sprintf("rules[%d].", i)); err != nil {
			return err
		}
	}
	return nil
}

func (r Rule) validate(at string) error {
	if r.Taxonomy == "" && r.Type == "" {
		return bad(at+"type", "alerts.config.what")
	}
	if r.Taxonomy != "" && !taxonomy.ValidTaxonomy(r.Taxonomy) {
		return bad(at+"taxonomy", "alerts.config.taxonomy", r.Taxonomy)
	}
	if r.Type != "" {
		tax, ok := taxonomy.TaxonomyOf(r.Type)
		if !ok {
			return bad(at+"type", "alerts.config.type", r.Type)
		}
		if r.Taxonomy != "" && tax != r.Taxonomy {
			return bad(at+"type", "alerts.config.type.taxonomy", r.Type, tax, r.Taxonomy)
		}
	}
	if r.Severity != "" && !r.Severity.Valid() {
		return bad(at+"severity", "alerts.config.severity", r.Severity)
	}
	if r.MinCount < 0 || r.MinCount > MaxMinCount {
		return bad(at+"min_count", "alerts.config.min_count", MaxMinCount, r.MinCount)
	}
	if len(r.Name) > 200 || len(r.Feed) > 200 || len(r.Constituent) > 200 {
		return bad(at+"name", "alerts.config.long")
	}
	return nil
}

// Organisation is the constituent an event is about, as the worker
// found it from the event's tag: ID 0 and an empty Handle for an event of
// no constituent, ID 0 and its Handle for a handle the constituency does
// not know.
type Organisation struct {
	ID     int64
	Handle string
	Name   string
}

// Target is what a rule looks at in an event.
type Target struct {
	Taxonomy, Type, Feed string
	Org                  Organisation
}

// Matches reports whether every field the rule sets matches t.
func (r Rule) Matches(t Target) bool {
	if r.Taxonomy != "" && r.Taxonomy != t.Taxonomy {
		return false
	}
	if r.Type != "" && r.Type != t.Type {
		return false
	}
	if r.Feed != "" && !strings.EqualFold(r.Feed, t.Feed) {
		return false
	}
	if r.Constituent != "" && !r.namesOrg(t.Org) {
		return false
	}
	return true
}

func (r Rule) namesOrg(o Organisation) bool {
	c := strings.TrimSpace(r.Constituent)
	if o.Handle != "" && strings.EqualFold(c, o.Handle) {
		return true
	}
	if o.Name != "" && strings.EqualFold(c, o.Name) {
		return true
	}
	return o.ID != 0 && c == strconv.FormatInt(o.ID, 10)
}

// Match returns the index of the first rule that matches t, -1 for none.
func Match(rules []Rule, t Target) int {
	for i, r := range rules {
		if r.Matches(t) {
			return i
		}
	}
	return -1
}

// name is the rule's name, "rule N" (from 1) without one.
func (r Rule) name(i int) string {
	if r.Name != "" {
		return r.Name
	}
	return "rule " + strconv.Itoa(i+1)
}

// minCount is MinCount with its default.
func (r Rule) minCount() int64 { return int64(max(r.MinCount, 1)) }
