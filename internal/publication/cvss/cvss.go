// Package cvss scores CVSS vectors: a publication's CVSS 3.0, 3.1 and
// 4.0 vectors are stored as written, and the score and the qualitative
// severity readers see are always computed from the vector here, never
// typed in, so that they cannot disagree.
//
// The arithmetic is github.com/pandatix/go-cvss's, checked against the
// FIRST calculators. This package adds what a person needs when a
// vector is wrong: it checks the vector itself first and refuses it with
// a *publication.InputError that names the problem (the prefix, a
// metric that is unknown, missing or given twice, a value the metric
// does not have, a 4.0 metric out of order).
//
// Which score: for 3.x the base score, or the temporal score when the
// vector sets temporal metrics, or the environmental score when it sets
// environmental ones (the specification's final score); for 4.0 the
// score of the vector as given (CVSS-B, -BT, -BE or -BTE).
package cvss

import (
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// MaxVectorLength is the longest vector accepted, in bytes: a 4.0
// vector with every metric set is about 250.
const MaxVectorLength = 512

// The severities Score gives, from the CVSS specifications' rating scale.
const (
	SeverityNone     = "none"
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// Score parses vector (a CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/ vector; the
// space around it is ignored) and returns it with its score and
// severity. A malformed vector is refused with a *publication.InputError
// for the field "cvss" whose message says what is wrong.
func Score(vector string) (publication.CVSS, error) {
	vector = strings.TrimSpace(vector)
	version, pairs, reason := split(vector)
	if reason.IsZero() {
		reason = check(version, pairs)
	}
	if !reason.IsZero() {
		return publication.CVSS{}, refuse(vector, reason)
	}
	score, err := compute(version, vector, pairs)
	if err != nil {
		// The checks above follow the specifications, so the library
		// refusing a vector they passed is a difference of reading;
		// the vector is still refused, with the library's words.
		return publication.CVSS{}, refuse(vector, i18n.M("publication.error.cvss.library", err.Error()))
	}
	score = math.Round(score*10) / 10
	return publication.CVSS{Version: version, Vector: vector, Score: score, Severity: Rating(score)}, nil
}

// Rating is the qualitative severity of a score (the same scale in CVSS
// 3.x and 4.0): none (0), low (0.1–3.9), medium (4.0–6.9), high
// (7.0–8.9) or critical (9.0–10.0).
func Rating(score float64) string {
	switch {
	case score >= 9.0:
		return SeverityCritical
	case score >= 7.0:
		return SeverityHigh
	case score >= 4.0:
		return SeverityMedium
	case score >= 0.1:
		return SeverityLow
	}
	return SeverityNone
}

// pair is one metric:value of a vector.
type pair struct{ name, value string }

// split takes the version from vector's prefix and cuts the rest into
// its metric:value pairs.
func split(vector string) (string, []pair, i18n.Message) {
	switch {
	case vector == "":
		return "", nil, i18n.M("publication.error.cvss.empty")
	case len(vector) > MaxVectorLength:
		return "", nil, i18n.M("publication.error.cvss.long", MaxVectorLength)
	case !utf8.ValidString(vector):
		return "", nil, i18n.M("publication.error.cvss.prefix")
	}
	var version string
	for _, v := range []string{"3.0", "3.1", "4.0"} {
		if rest, ok := strings.CutPrefix(vector, "CVSS:"+v+"/"); ok {
			version, vector = v, rest
			break
		}
	}
	if version == "" {
		return "", nil, i18n.M("publication.error.cvss.prefix")
	}
	parts := strings.Split(vector, "/")
	pairs := make([]pair, 0, len(parts))
	for _, part := range parts {
		name, value, ok := strings.Cut(part, ":")
		if !ok || name == "" || value == "" {
			return "", nil, i18n.M("publication.error.cvss.syntax", clip(part, 20))
		}
		pairs = append(pairs, pair{name, value})
	}
	return version, pairs, i18n.Message{}
}

// check reports the first thing wrong with pairs as a vector of
// version, or the zero message.
func check(version string, pairs []pair) i18n.Message {
	table := metrics3
	if version == "4.0" {
		table = metrics4
	}
	seen := make(map[string]bool, len(pairs))
	last := -1
	for _, p := range pairs {
		i := slices.IndexFunc(table, func(m metric) bool { return m.name == p.name })
		switch {
		case i < 0:
			return i18n.M("publication.error.cvss.unknown", clip(p.name, 20), version)
		case seen[p.name]:
			return i18n.M("publication.error.cvss.duplicate", p.name)
		case !slices.Contains(table[i].values, p.value):
			return i18n.M("publication.error.cvss.value", clip(p.value, 20), p.name)
		}
		seen[p.name] = true
		if version == "4.0" && i < last {
			return i18n.M("publication.error.cvss.order", p.name)
		}
		last = i
	}
	for _, m := range table {
		if m.mandatory && !seen[m.name] {
			return i18n.M("publication.error.cvss.missing", m.name)
		}
	}
	return i18n.Message{}
}

// compute scores a checked vector with the library.
func compute(version, vector string, pairs []pair) (float64, error) {
	set := func(group []string) bool {
		return slices.ContainsFunc(pairs, func(p pair) bool {
			return p.value != "X" && slices.Contains(group, p.name)
		})
	}
	switch version {
	case "3.0":
		v, err := gocvss30.ParseVector(vector)
		if err != nil {
			return 0, err
		}
		switch {
		case set(environmental3):
			return v.EnvironmentalScore(), nil
		case set(temporal3):
			return v.TemporalScore(), nil
		}
		return v.BaseScore(), nil
	case "3.1":
		v, err := gocvss31.ParseVector(vector)
		if err != nil {
			return 0, err
		}
		switch {
		case set(environmental3):
			return v.EnvironmentalScore(), nil
		case set(temporal3):
			return v.TemporalScore(), nil
		}
		return v.BaseScore(), nil
	}
	v, err := gocvss40.ParseVector(vector)
	if err != nil {
		return 0, err
	}
	return v.Score(), nil
}

// refuse is the refusal of vector for reason. A long vector is cut in
// the message, so that 10 KB of junk is not repeated back.
func refuse(vector string, reason i18n.Message) *publication.InputError {
	return publication.Refuse("cvss", "publication.error.cvss", clip(vector, 80), reason)
}

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
