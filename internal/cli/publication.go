package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/cveimport"
	"github.com/vigil-cert/vigil/internal/store"
)

var cmdPublication = &command{
	name:    "publication",
	summary: "list, show, write and publish advisories, warnings and news",
	usage: `list [--kind K] [--status S] [--limit N] [--json]
       | show IDENT [--json]
       | new --kind K --title TEXT [--severity S] [--tlp L] [--as USER]
       | import-cve FILE [--kind K] [--as USER]
       | import-csaf FILE [--kind K] [--as USER]
       | submit IDENT [--as USER]
       | approve IDENT --as USER
       | publish IDENT [--as USER]
       | withdraw IDENT --reason TEXT [--as USER]`,
	help: `The team's publications as the console and the API show them, on the
database directly, through the same workflow: draft, review, approved,
published, withdrawn. Changes are in the publication's history and in the
audit log, by the account --as names ("cli" when none).

'list' lists publications, the newest first. 'show IDENT' shows one
(VIGIL-2026-0042) with its languages, revisions and channels. 'new' writes
a draft with its title in the primary language; the rest is written in the
console. 'import-cve FILE' drafts an advisory from a CVE JSON 5 record:
its description, scores, weaknesses, references and affected products.
'import-csaf FILE' drafts one from a CSAF 2.0 document (a vendor's
advisory) at the document's TLP, a warning from an informational one.
'submit' sends a draft to review. 'approve' approves it: four eyes,
so --as must name an account that did not write or last edit it.
'publish' publishes an approved publication to every channel. 'withdraw'
takes a published one down, with --reason.`,
	run:         runPublication,
	subcommands: true,
}

// publicationCommands are the words runPublication knows.
var publicationCommands = map[string]func(ctx context.Context, c *cmdEnv, args []string) error{
	"list":        listPublications,
	"show":        showPublication,
	"new":         newPublication,
	"import-cve":  importCVE,
	"import-csaf": importCSAF,
	"submit":      publicationMove(publication.ActionSubmit),
	"approve":     publicationMove(publication.ActionApprove),
	"publish":     publicationMove(publication.ActionPublish),
	"withdraw":    publicationMove(publication.ActionWithdraw),
}

func runPublication(ctx context.Context, c *cmdEnv, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return listPublications(ctx, c, args)
	}
	sub, ok := publicationCommands[args[0]]
	if !ok {
		return c.usageError("cli.publication.unknown", args[0])
	}
	return sub(ctx, c, args[1:])
}

// publicationActor is the account --as names, or the command line itself.
func (c *cmdEnv) publicationActor(ctx context.Context, a *app, name string) (publication.Actor, error) {
	if name == "" {
		return publication.Actor{Name: "cli"}, nil
	}
	u, err := a.store.GetUserByName(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return publication.Actor{}, failedTo(err, "cli.user.read", name)
	}
	if err != nil || u.Disabled {
		return publication.Actor{}, c.fail("cli.publication.user", name)
	}
	return publication.Actor{UserID: u.ID, Name: u.Name}, nil
}

// pubRefusal says an error of the publications' rules in the command
// line's language; a missing publication as not found.
func (c *cmdEnv) pubRefusal(err error, ident string) error {
	var refused *publication.InputError
	if errors.As(err, &refused) {
		return errors.New(c.in(refused.Message))
	}
	if errors.Is(err, store.ErrNotFound) {
		return c.fail("cli.publication.notfound", ident)
	}
	return failedTo(err, "cli.publication.failed", ident)
}

func listPublications(ctx context.Context, c *cmdEnv, args []string) error {
	kind := c.flags.String("kind", "", "only this kind: advisory, warning, news or digest")
	status := c.flags.String("status", "", "only this status: draft, review, approved, scheduled, published or withdrawn")
	limit := c.flags.Int("limit", 50, "how many, the newest first")
	asJSON := c.flags.Bool("json", false, "one JSON object a line")
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	if len(words) > 0 {
		return c.usageError("cli.publication.args.none", "list", words[0])
	}
	q := publication.Query{Kind: publication.Kind(*kind), Status: publication.Status(*status), Limit: *limit}
	if q.Kind != "" && !q.Kind.Valid() {
		return c.usageError("cli.publication.kind", *kind)
	}
	if q.Status != "" && !q.Status.Valid() {
		return c.usageError("cli.publication.status", *status)
	}
	if *limit < 1 || *limit > maxCLIList {
		return c.usageError("cli.incident.limit", maxCLIList)
	}
	a, err := c.openExisting(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	page, err := a.store.Publications.ListPublications(ctx, q)
	if err != nil {
		return failedTo(err, "cli.publication.list.read")
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		for _, p := range page.Publications {
			if err := enc.Encode(p); err != nil {
				return err
			}
		}
		return nil
	}
	if len(page.Publications) == 0 {
		fmt.Fprintln(c.stdout, c.t("cli.publication.none"))
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, c.header("cli.publication.col.ident", "cli.publication.col.status", "cli.publication.col.kind",
		"cli.publication.col.tlp", "cli.publication.col.severity", "cli.publication.col.title"))
	for _, p := range page.Publications {
		t, _ := p.Text(c.lang)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Ident, p.Status, p.Kind, p.TLP, p.Severity, t.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, c.tn("cli.publication.count", page.Total))
	return nil
}

// onePublication reads the words of a subcommand that names one
// publication, and opens the database and the publication.
func (c *cmdEnv) onePublication(ctx context.Context, args []string, sub string) (*app, publication.Publication, error) {
	words, err := c.parseWords(args)
	if err != nil {
		return nil, publication.Publication{}, err
	}
	if len(words) != 1 {
		return nil, publication.Publication{}, c.usageError("cli.publication.args.ident", sub)
	}
	a, err := c.openExisting(ctx)
	if err != nil {
		return nil, publication.Publication{}, err
	}
	p, err := a.store.Publications.GetPublicationByIdent(ctx, words[0])
	if err != nil {
		a.Close()
		return nil, p, c.pubRefusal(err, words[0])
	}
	return a, p, nil
}

func showPublication(ctx context.Context, c *cmdEnv, args []string) error {
	asJSON := c.flags.Bool("json", false, "the publication, its revisions and channels as one JSON object")
	a, p, err := c.onePublication(ctx, args, "show")
	if err != nil {
		return err
	}
	defer a.Close()
	revisions, err := a.store.Publications.Revisions(ctx, p.ID)
	if err != nil {
		return c.pubRefusal(err, p.Ident)
	}
	deliveries, err := a.store.Publications.ListDeliveries(ctx, p.ID)
	if err != nil {
		return c.pubRefusal(err, p.Ident)
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"publication": p, "revisions": revisions, "deliveries": deliveries})
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	field := func(id, value string) { fmt.Fprintf(tw, "%s\t%s\n", c.t("cli.publication.col."+id), value) }
	field("ident", p.Ident)
	field("kind", string(p.Kind))
	field("status", string(p.Status))
	field("severity", string(p.Severity))
	field("tlp", string(p.TLP))
	field("author", p.Author)
	field("cves", strings.Join(p.CVEs, ", "))
	if missing := p.Outdated(nil); len(missing) > 0 {
		field("outdated", strings.Join(missing, ", "))
	}
	for _, t := range p.Texts {
		field("title", "["+t.Lang+"] "+t.Title)
	}
	for _, r := range revisions {
		field("revision", fmt.Sprintf("%d  %s  %s", r.Number, r.Published.UTC().Format(time.RFC3339), r.Note))
	}
	for _, d := range deliveries {
		line := strings.TrimSpace(d.Channel+" "+d.Lang) + "  " + d.Status
		if d.LastError != "" {
			line += "  " + i18n.Embedded().Stored(c.lang, d.LastError)
		}
		field("channel", line)
	}
	return tw.Flush()
}

func newPublication(ctx context.Context, c *cmdEnv, args []string) error {
	kind := c.flags.String("kind", "advisory", "advisory, warning, news or digest")
	title := c.flags.String("title", "", "the title in the primary language")
	severity := c.flags.String("severity", "medium", "a name of the configured severity scale")
	tlp := c.flags.String("tlp", "AMBER", "the TLP label: CLEAR, GREEN, AMBER, AMBER+STRICT or RED")
	as := c.flags.String("as", "", "the account that writes it (its author)")
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	if len(words) > 0 {
		return c.usageError("cli.publication.args.none", "new", words[0])
	}
	if strings.TrimSpace(*title) == "" {
		return c.usageError("cli.publication.title")
	}
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	actor, err := c.publicationActor(ctx, a, *as)
	if err != nil {
		return err
	}
	svc := a.publications()
	content := publication.Content{Severity: *severity, TLP: publication.TLP(strings.ToUpper(*tlp)),
		Texts: []publication.Text{{Lang: svc.RulesOrDefault().Languages[0], Title: strings.TrimSpace(*title)}}}
	p, err := svc.Create(ctx, actor, publication.Kind(*kind), content, "")
	if err != nil {
		return c.pubRefusal(err, "")
	}
	fmt.Fprintln(c.stdout, c.t("cli.publication.created", p.Ident, content.Texts[0].Title))
	return nil
}

// publicationMove is a workflow subcommand: submit, approve, publish or
// withdraw.
func publicationMove(action string) func(ctx context.Context, c *cmdEnv, args []string) error {
	return func(ctx context.Context, c *cmdEnv, args []string) error {
		as := c.flags.String("as", "", "the account that does it (approving: not the author or the last editor)")
		var reason *string
		if action == publication.ActionWithdraw {
			reason = c.flags.String("reason", "", "why it is withdrawn (public)")
		}
		a, p, err := c.onePublication(ctx, args, action)
		if err != nil {
			return err
		}
		defer a.Close()
		if action == publication.ActionApprove && *as == "" {
			return c.usageError("cli.publication.approve.as")
		}
		actor, err := c.publicationActor(ctx, a, *as)
		if err != nil {
			return err
		}
		svc := a.publications()
		switch action {
		case publication.ActionSubmit:
			p, err = svc.Submit(ctx, actor, p.ID)
		case publication.ActionApprove:
			p, err = svc.Approve(ctx, actor, p.ID)
		case publication.ActionPublish:
			p, err = svc.Publish(ctx, actor, p.ID)
		case publication.ActionWithdraw:
			p, err = svc.Withdraw(ctx, actor, p.ID, strings.TrimSpace(*reason))
		}
		if err != nil {
			return c.pubRefusal(err, p.Ident)
		}
		fmt.Fprintln(c.stdout, c.t("cli.publication.moved", p.Ident, string(p.Status)))
		return nil
	}
}

// importCVE drafts a publication from a CVE record file.
func importCVE(ctx context.Context, c *cmdEnv, args []string) error {
	kind := c.flags.String("kind", "advisory", "advisory, warning, news or digest")
	as := c.flags.String("as", "", "the account that writes it (its author)")
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	if len(words) != 1 {
		return c.usageError("cli.publication.args.file")
	}
	rec, err := cveimport.ReadFile(words[0])
	if err != nil {
		var refused *publication.InputError
		if errors.As(err, &refused) {
			return c.fail("cli.publication.cve.refused", words[0], c.in(refused.Message))
		}
		return &fileError{words[0], err}
	}
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	actor, err := c.publicationActor(ctx, a, *as)
	if err != nil {
		return err
	}
	svc := a.publications()
	rules := svc.RulesOrDefault()
	content := rec.Draft(rules.Languages)
	if !slices.Contains(rules.Severities, content.Severity) {
		content.Severity = rules.DefaultSeverity()
	}
	p, err := svc.Create(ctx, actor, publication.Kind(*kind), content, "cve:"+rec.ID)
	if err != nil {
		return c.pubRefusal(err, "")
	}
	title, _ := p.Text("")
	fmt.Fprintln(c.stdout, c.t("cli.publication.created", p.Ident, title.Title))
	return nil
}
