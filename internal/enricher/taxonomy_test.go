package enricher

import (
	"maps"
	"math/rand/v2"
	"testing"
)

func TestTaxonomy(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]string
		want map[string]string
	}{
		{"type only",
			map[string]string{"classification.type": "phishing"},
			map[string]string{"classification.type": "phishing", "classification.taxonomy": "fraud"}},
		{"contradicting taxonomy is corrected",
			map[string]string{"classification.type": "scanner", "classification.taxonomy": "fraud"},
			map[string]string{"classification.type": "scanner", "classification.taxonomy": "information-gathering"}},
		{"consistent pair unchanged",
			map[string]string{"classification.type": "ddos", "classification.taxonomy": "availability"},
			map[string]string{"classification.type": "ddos", "classification.taxonomy": "availability"}},
		{"neither becomes undetermined",
			map[string]string{},
			map[string]string{"classification.type": "undetermined", "classification.taxonomy": "other"}},
		{"taxonomy only is kept without a type",
			map[string]string{"classification.taxonomy": "intrusions"},
			map[string]string{"classification.taxonomy": "intrusions"}},
		{"IntelMQ extra type",
			map[string]string{"classification.type": "blacklist"},
			map[string]string{"classification.type": "blacklist", "classification.taxonomy": "other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent(t, tt.in)
			enrichOne(t, Taxonomy{}, e)
			if got := fieldsOf(e, "classification."); !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTaxonomyGolden(t *testing.T) { runGolden(t, "taxonomy", Taxonomy{}) }

func BenchmarkTaxonomy(b *testing.B) {
	events := benchEvents(b, 1000, func(int, *rand.Rand) map[string]string { return map[string]string{} })
	for _, e := range events {
		e.Delete("classification.taxonomy")
	}
	runEnricherBench(b, Taxonomy{}, events)
}
