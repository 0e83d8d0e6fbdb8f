package cvss

import (
	"errors"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// TestScoreKnownVectors scores vectors whose scores the FIRST
// specifications and calculators give: the 3.1 specification's worked
// examples (section 7 of the user guide's examples document), scores
// worked out by hand from the 3.1 formulas for the temporal and
// environmental groups, and 4.0 vectors with the official calculator's
// scores.
func TestScoreKnownVectors(t *testing.T) {
	for _, tc := range []struct {
		name, vector, version string
		score                 float64
		severity              string
	}{
		{"3.1 network, no privileges, full impact", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.1", 9.8, "critical"},
		{"3.1 phpMyAdmin XSS (CVE-2013-1937)", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "3.1", 6.1, "medium"},
		{"3.1 Heartbleed (CVE-2014-0160)", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "3.1", 7.5, "high"},
		{"3.1 MySQL (CVE-2013-0375)", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", "3.1", 6.4, "medium"},
		{"3.1 VMware guest escape (CVE-2012-1516)", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", "3.1", 9.9, "critical"},
		{"3.1 metrics in another order", "CVSS:3.1/C:H/I:H/A:H/AV:N/AC:L/PR:N/UI:N/S:U", "3.1", 9.8, "critical"},
		{"3.1 physical, low", "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", "3.1", 1.6, "low"},
		{"3.1 no impact", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "3.1", 0, "none"},
		{"3.1 temporal", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:U", "3.1", 7.8, "high"},
		{"3.1 temporal, proof of concept", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C", "3.1", 8.8, "high"},
		{"3.1 environmental", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/CR:L/IR:L/AR:L", "3.1", 8.0, "high"},
		{"3.1 undefined groups are the base score", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:X/RL:X/RC:X/CR:X/MAV:X", "3.1", 9.8, "critical"},
		{"3.0 accepted", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.0", 9.8, "critical"},
		{"3.0 scope changed", "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "3.0", 6.1, "medium"},
		{"4.0 full impact", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", "4.0", 10, "critical"},
		{"4.0 vulnerable system only", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "4.0", 9.3, "critical"},
		{"4.0 subsequent system only", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:H/SI:H/SA:H", "4.0", 7.9, "high"},
		{"4.0 unreported exploit (BT)", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U", "4.0", 9.1, "critical"},
		{"4.0 physical, low", "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", "4.0", 1.0, "low"},
		{"4.0 local", "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:P/VC:N/VI:H/VA:H/SC:N/SI:L/SA:L", "4.0", 5.2, "medium"},
		{"4.0 every group (BTE)", "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:P/VC:N/VI:H/VA:H/SC:N/SI:L/SA:L/E:P/CR:H/IR:M/AR:H/MAV:A/MAT:P/MPR:N/MVI:H/MVA:N/MSI:H/MSA:N/S:N/V:C/U:Amber", "4.0", 4.7, "medium"},
		{"4.0 no impact", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", "4.0", 0, "none"},
		{"space around is ignored", "  CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n", "3.1", 9.8, "critical"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Score(tc.vector)
			if err != nil {
				t.Fatalf("Score(%q): %v", tc.vector, err)
			}
			want := publication.CVSS{Version: tc.version, Vector: strings.TrimSpace(tc.vector), Score: tc.score, Severity: tc.severity}
			if got != want {
				t.Errorf("Score(%q) = %+v, want %+v", tc.vector, got, want)
			}
		})
	}
}

// TestScoreRefusesMalformed checks that each kind of broken vector is
// refused as an InputError of the field "cvss" whose reason names the
// problem.
func TestScoreRefusesMalformed(t *testing.T) {
	junk := strings.Repeat("AV:N/<script>", 800) // about 10 KB
	for _, tc := range []struct {
		name, vector string
		reason       i18n.Message
	}{
		{"empty", "", i18n.M("publication.error.cvss.empty")},
		{"no prefix", "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", i18n.M("publication.error.cvss.prefix")},
		{"CVSS 2", "CVSS:2.0/AV:N/AC:L/Au:N/C:C/I:C/A:C", i18n.M("publication.error.cvss.prefix")},
		{"lower case prefix", "cvss:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", i18n.M("publication.error.cvss.prefix")},
		{"3.1 missing a base metric", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", i18n.M("publication.error.cvss.missing", "A")},
		{"4.0 missing a base metric", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N", i18n.M("publication.error.cvss.missing", "SA")},
		{"3.1 duplicate metric", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AV:L", i18n.M("publication.error.cvss.duplicate", "AV")},
		{"4.0 duplicate metric", "CVSS:4.0/AV:N/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", i18n.M("publication.error.cvss.duplicate", "AV")},
		{"unknown value", "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", i18n.M("publication.error.cvss.value", "Q", "AV")},
		{"4.0 value of 3.1", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:R/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", i18n.M("publication.error.cvss.value", "R", "UI")},
		{"unknown metric", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1", i18n.M("publication.error.cvss.unknown", "ZZ", "3.1")},
		{"4.0 metric in a 3.1 vector", "CVSS:3.1/AV:N/AC:L/AT:N/PR:N/UI:N/S:U/C:H/I:H/A:H", i18n.M("publication.error.cvss.unknown", "AT", "3.1")},
		{"4.0 out of order", "CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", i18n.M("publication.error.cvss.order", "AV")},
		{"empty part", "CVSS:3.1/AV:N//AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", i18n.M("publication.error.cvss.syntax", "")},
		{"trailing slash", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", i18n.M("publication.error.cvss.syntax", "")},
		{"no value", "CVSS:3.1/AV/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", i18n.M("publication.error.cvss.syntax", "AV")},
		{"10 KB of junk", "CVSS:3.1/" + junk, i18n.M("publication.error.cvss.long", MaxVectorLength)},
		{"junk after a prefix", "CVSS:4.0/<script>alert(1)</script>", i18n.M("publication.error.cvss.syntax", "<script>alert(1)<")},
		{"invalid UTF-8", "CVSS:3.1/AV:\xff", i18n.M("publication.error.cvss.prefix")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Score(tc.vector)
			if err == nil {
				t.Fatalf("Score(%q) = %+v, want a refusal", tc.vector, got)
			}
			var in *publication.InputError
			if !errors.As(err, &in) || !errors.Is(err, publication.ErrInput) {
				t.Fatalf("Score(%q): %T %v, want a *publication.InputError", tc.vector, err, err)
			}
			if in.Field != "cvss" || in.Message.ID != "publication.error.cvss" {
				t.Errorf("refusal %q/%q, want cvss/publication.error.cvss", in.Field, in.Message.ID)
			}
			args := in.Message.Args()
			if len(args) != 2 || args[1] != tc.reason {
				t.Errorf("reason %v, want %v (%s)", args, tc.reason, tc.reason)
			}
			if len(in.Error()) > 300 {
				t.Errorf("the refusal repeats the input: %d bytes", len(in.Error()))
			}
		})
	}
}

// TestRefusalTranslated checks the refusal reads in a person's language,
// the reason included.
func TestRefusalTranslated(t *testing.T) {
	_, err := Score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H")
	var in *publication.InputError
	if !errors.As(err, &in) {
		t.Fatal(err)
	}
	if want := `cvss: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H" is not a valid CVSS vector: the mandatory metric A is missing.`; in.Error() != want {
		t.Errorf("English:\n%s\nwant\n%s", in.Error(), want)
	}
	nl := in.Message.In(i18n.Embedded(), "nl")
	if !strings.Contains(nl, "de verplichte metriek A ontbreekt") {
		t.Errorf("Dutch: %s", nl)
	}
}

func TestRating(t *testing.T) {
	for score, want := range map[float64]string{0: "none", 0.1: "low", 3.9: "low", 4: "medium", 6.9: "medium", 7: "high", 8.9: "high", 9: "critical", 10: "critical"} {
		if got := Rating(score); got != want {
			t.Errorf("Rating(%v) = %s, want %s", score, got, want)
		}
	}
}

// FuzzScore checks that no input panics and that what is accepted is a
// score from 0 to 10 with its rating.
func FuzzScore(f *testing.F) {
	f.Add("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
	f.Add("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U/MSI:S")
	f.Add("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H/MS:U/MAV:L")
	f.Fuzz(func(t *testing.T, vector string) {
		got, err := Score(vector)
		if err != nil {
			if !errors.Is(err, publication.ErrInput) {
				t.Fatalf("Score(%q): %v is not an input refusal", vector, err)
			}
			return
		}
		if got.Score < 0 || got.Score > 10 || got.Severity != Rating(got.Score) {
			t.Fatalf("Score(%q) = %+v", vector, got)
		}
	})
}

// TestScoreIsTheServiceScorer checks Score fits publication.Service's
// Score, which computes every saved vector's score, and that a
// refusal passes through it unchanged.
func TestScoreIsTheServiceScorer(t *testing.T) {
	svc := publication.Service{Score: Score}
	got, err := svc.Score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
	if err != nil || got.Score != 9.3 {
		t.Errorf("%+v %v", got, err)
	}
	if _, err := svc.Score("CVSS:4.0/AV:N"); !errors.Is(err, publication.ErrInput) {
		t.Errorf("%v, want an input refusal", err)
	}
}
