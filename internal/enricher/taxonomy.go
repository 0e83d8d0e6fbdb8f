package enricher

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

func init() {
	pipeline.RegisterEnricher("taxonomy",
		"fill classification.taxonomy from classification.type (RSIT); unclassified events become other/undetermined",
		func(_ pipeline.Env, opts pipeline.Options) (pipeline.Enricher, error) {
			if err := opts.Decode(&struct{}{}); err != nil {
				return nil, fmt.Errorf("taxonomy: %w", err)
			}
			return Taxonomy{}, nil
		})
}

// Taxonomy makes every event's classification complete and consistent:
//
//   - with a classification.type, classification.taxonomy is set to the
//     type's RSIT taxonomy, replacing a contradicting one: the type is the
//     more specific statement (IntelMQ's taxonomy expert does the same);
//   - with neither, the event becomes type "undetermined", taxonomy
//     "other", so that every stored event is classified and a search by
//     taxonomy finds it;
//   - with a taxonomy but no type, the event is left alone: "undetermined"
//     belongs to "other" and would contradict the taxonomy the feed gave.
type Taxonomy struct{}

// Enrich implements pipeline.Enricher.
func (Taxonomy) Enrich(_ context.Context, b *pipeline.Batch) error {
	for _, e := range b.Events {
		typ, hasType := e.Get("classification.type")
		tax, hasTax := e.Get("classification.taxonomy")
		switch {
		case hasType:
			// Types are validated on the way in, so the lookup fails only
			// for events built with SetTrusted; leave those as they are.
			if want, ok := taxonomy.TaxonomyOf(typ); ok && want != tax {
				e.SetTrusted("classification.taxonomy", want)
			}
		case !hasTax:
			e.SetTrusted("classification.type", "undetermined")
			e.SetTrusted("classification.taxonomy", "other")
		}
	}
	return nil
}

// MayAdd implements pipeline.FieldAdder: the taxonomy of an event with a
// type, or both of one with neither.
func (Taxonomy) MayAdd(has func(key string) bool) []string {
	switch {
	case has("classification.type"):
		return []string{"classification.taxonomy"}
	case !has("classification.taxonomy"):
		return []string{"classification.type", "classification.taxonomy"}
	}
	return nil
}

var (
	_ pipeline.Enricher   = Taxonomy{}
	_ pipeline.FieldAdder = Taxonomy{}
)
