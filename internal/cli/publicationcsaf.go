package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/csaf"
)

// importCSAF drafts a publication from a CSAF 2.0 document file at the
// document's TLP: an advisory, or a warning from an informational
// advisory, unless --kind names another kind. A malformed document is refused with the JSON path of the
// field that is wrong.
func importCSAF(ctx context.Context, c *cmdEnv, args []string) error {
	kind := c.flags.String("kind", "", "advisory, warning, news or digest (the document's when not given: a warning for an informational advisory, else an advisory)")
	as := c.flags.String("as", "", "the account that writes it (its author)")
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	if len(words) != 1 {
		return c.usageError("cli.publication.args.csaf")
	}
	if *kind != "" && !publication.Kind(*kind).Valid() {
		return c.usageError("cli.publication.kind", *kind)
	}
	f, err := os.Open(words[0])
	if err != nil {
		return &fileError{words[0], err}
	}
	defer f.Close()
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.publications()
	rules := svc.RulesOrDefault()
	d, err := csaf.ImportDraft(f, rules.Languages)
	if err != nil {
		var refused *publication.InputError
		if !errors.As(err, &refused) {
			return &fileError{words[0], err}
		}
		if refused.Field == "" {
			return c.fail("cli.publication.cve.refused", words[0], c.in(refused.Message))
		}
		return c.fail("cli.publication.csaf.refused", words[0], refused.Field, c.in(refused.Message))
	}
	actor, err := c.publicationActor(ctx, a, *as)
	if err != nil {
		return err
	}
	if *kind != "" {
		d.Kind = publication.Kind(*kind)
	}
	if !slices.Contains(rules.Severities, d.Content.Severity) {
		d.Content.Severity = rules.DefaultSeverity()
	}
	p, err := svc.Create(ctx, actor, d.Kind, d.Content, d.Source)
	if err != nil {
		return c.pubRefusal(err, "")
	}
	title, _ := p.Text("")
	fmt.Fprintln(c.stdout, c.t("cli.publication.created", p.Ident, title.Title))
	return nil
}
