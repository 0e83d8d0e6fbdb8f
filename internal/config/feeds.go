package config

// The feeds: each one's validation, shared by the configuration file and
// the console, and the effective set a process runs, the file's feeds
// with the console's overrides (package feedadmin) over them.

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/tlp"
)

// validateFeeds checks every feed of the file and that no name is used
// twice.
func validateFeeds(feeds []Feed) error {
	seen := map[string]bool{}
	for i, f := range feeds {
		key := fmt.Sprintf("feeds[%d]", i)
		if err := ValidateFeed(key, f); err != nil {
			return err
		}
		if seen[f.Name] {
			return &Error{Key: key + ".name", Message: i18n.M("feedadmin.error.twice", f.Name)}
		}
		seen[f.Name] = true
	}
	return nil
}

// ValidateFeed checks one feed's keys, named under key ("feeds[2]"), as
// the configuration file's feeds are checked: the console checks a feed
// it adds or changes with it. Whether its collector and parser exist and
// take its options is checked when they are built.
func ValidateFeed(key string, f Feed) error {
	if !feedName.MatchString(f.Name) {
		return &Error{Key: key + ".name", Message: i18n.M("feedadmin.error.name")}
	}
	if f.Parser == "" {
		return &Error{Key: key + ".parser", Message: i18n.M("feedadmin.error.parser")}
	}
	if f.Accuracy < 0 || f.Accuracy > 100 {
		return &Error{Key: key + ".accuracy", Message: i18n.M("feedadmin.error.accuracy")}
	}
	if f.TLP != "" {
		if _, ok := tlp.Parse(f.TLP); !ok {
			return &Error{Key: key + ".tlp", Message: i18n.M("feedadmin.error.tlp")}
		}
	}
	return nil
}

// FeedYAML is f in the configuration file's form, as an override keeps it.
func FeedYAML(f Feed) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("config: feed %s: %w", f.Name, err)
	}
	return buf.Bytes(), nil
}

// ParseFeed reads one feed in the configuration file's form, refusing
// unknown keys, and validates it.
func ParseFeed(raw []byte) (Feed, error) {
	var f Feed
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		e := yamlError(err)
		e.Key = "feed"
		return Feed{}, e
	}
	return f, ValidateFeed("feed", f)
}

// Origin says where an effective feed's definition comes from.
type Origin string

// The origins of a feed.
const (
	OriginFile    Origin = "file"    // the configuration file, as it is
	OriginChanged Origin = "changed" // the file's feed, changed in the console
	OriginAdded   Origin = "added"   // added in the console
)

// EffectiveFeed is a feed as a process runs it: its definition from the
// file or the console, and whether it is paused.
type EffectiveFeed struct {
	Feed
	Origin Origin
	// Override is the console's override of the feed, nil when none.
	Override *feedadmin.Override
	// File is the file's definition of a feed the console changed.
	File *Feed
	// Problem says why an override's definition was not used (it no
	// longer reads as a valid feed); the file's version runs instead,
	// or, for an added feed, none. The console and the API say it in
	// the reader's language; it is the zero message when there is none.
	Problem i18n.Message
}

// Paused reports whether the console paused the feed.
func (f EffectiveFeed) Paused() bool {
	return f.Override != nil && f.Override.Paused != nil && *f.Override.Paused
}

// Runs reports whether the feed runs: the console's pause or resume
// decides, else the definition's enabled key.
func (f EffectiveFeed) Runs() bool {
	if f.Override != nil && f.Override.Paused != nil {
		return !*f.Override.Paused
	}
	return f.IsEnabled()
}

// EffectiveFeeds lays the console's overrides over the file's feeds: the
// file's feeds in the file's order, then the ones added in the console
// in order of name.
func EffectiveFeeds(file []Feed, overrides []feedadmin.Override) []EffectiveFeed {
	byName := map[string]*feedadmin.Override{}
	for i := range overrides {
		byName[overrides[i].Name] = &overrides[i]
	}
	out := make([]EffectiveFeed, 0, len(file)+len(overrides))
	inFile := map[string]bool{}
	for _, f := range file {
		inFile[f.Name] = true
		ef := EffectiveFeed{Feed: f, Origin: OriginFile, Override: byName[f.Name]}
		if ef.Override != nil && ef.Override.Definition != nil {
			if def, err := parseOverride(*ef.Override); err != nil {
				ef.Problem = overrideProblem(err)
			} else {
				file := f
				ef.Feed, ef.Origin, ef.File = def, OriginChanged, &file
			}
		}
		out = append(out, ef)
	}
	added := make([]*feedadmin.Override, 0, len(overrides))
	for i := range overrides {
		added = append(added, &overrides[i])
	}
	slices.SortFunc(added, func(a, b *feedadmin.Override) int { return strings.Compare(a.Name, b.Name) })
	for _, o := range added {
		if inFile[o.Name] || o.Definition == nil {
			// A pause of a feed no longer in the file has nothing to pause.
			continue
		}
		ef := EffectiveFeed{Feed: Feed{Name: o.Name}, Origin: OriginAdded, Override: o}
		if def, err := parseOverride(*o); err != nil {
			ef.Problem = overrideProblem(err)
		} else {
			ef.Feed = def
		}
		out = append(out, ef)
	}
	return out
}

// overrideProblem is why an override's definition cannot be used, from
// parseOverride's error, which explains itself.
func overrideProblem(err error) i18n.Message {
	if m, ok := i18n.Explain(err); ok {
		return m
	}
	return i18n.M("config.error.section", err.Error())
}

// parseOverride reads an override's definition, which must name its feed.
func parseOverride(o feedadmin.Override) (Feed, error) {
	f, err := ParseFeed(o.Definition)
	if err != nil {
		return Feed{}, err
	}
	if f.Name != o.Name {
		return Feed{}, &Error{Key: "feed.name", Message: i18n.M("config.error.feed.othername", o.Name, f.Name)}
	}
	return f, nil
}
