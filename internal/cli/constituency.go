package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/i18n"
)

var cmdConstituency = &command{
	name:    "constituency",
	summary: "import, export, list the constituent organisations, and ask who owns an address",
	usage:   "import FILE [--format csv|json] [--replace] [--dry-run] | export [--format csv|json] [--output FILE] | lookup VALUE | list [--search TEXT] | disable HANDLE | enable HANDLE",
	help: `The constituency is the organisations the team serves, with what each owns
(networks, AS numbers, domains) and whom to tell (contacts). Events are
tagged with the organisations owning their source and destination: the
longest network holding the address, else the AS, else the longest domain.

import reads a CSV or JSON file (the format from the extension, or
--format; "-" reads standard input) and creates or updates every
organisation in it by handle; --replace also deletes the organisations the
file does not list. The whole file is checked first, and every problem is
printed with its line: if there is any, nothing is written. Notes (a
network inside another organisation's, which is allowed: the more specific
one wins) are printed too. --dry-run checks and says what would change.
Running processes ('vigil serve', workers) pick the change up within
constituency.reload.

disable stops an organisation's notifications (those waiting for it are
held, and sent once it is enabled again) and its portal access, and ends
its accounts' sessions; its data and history are kept and events are
still tagged with it. enable undoes it. Both are audited.

CSV has a header and one row per contact; the organisation's columns are
repeated on each of its rows:

  handle,name,sector,country,language,networks,asns,domains,notes,contact_name,contact_email,contact_phone,contact_role,contact_notify,contact_pgp_key
  uliege,Université de Liège,education,BE,fr,192.0.2.0/24 2001:db8:10::/48,AS64496,uliege.be,,CSIRT,csirt@uliege.be,,security,true,

Roles: abuse, security, technical, management. Languages: en, nl, fr, de.
JSON is an array of organisations with the same field names and a
"contacts" list. 'export' writes either form; exporting and importing
again changes nothing.

Examples:
  vigil constituency import organisations.csv --dry-run
  vigil constituency import organisations.csv --replace
  vigil constituency export --output organisations.json
  vigil constituency lookup 192.0.2.10
  vigil constituency lookup 192.0.2.0/24     (every organisation with a network in or around it)
  vigil constituency lookup AS64496
  vigil constituency lookup www.uliege.be
  vigil constituency list --search liège
  vigil constituency disable uliege`,
	run:         runConstituency,
	subcommands: true,
}

func runConstituency(ctx context.Context, c *cmdEnv, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return c.parse(args)
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return c.usageError("cli.constituency.sub")
	}
	sub, args := args[0], args[1:]
	if sub == "products" {
		return runConstituencyProducts(ctx, c, args)
	}
	// The argument may come before the flags (import FILE --dry-run).
	var arg string
	if len(args) > 0 && (!strings.HasPrefix(args[0], "-") || args[0] == "-") {
		arg, args = args[0], args[1:]
	}
	format := c.flags.String("format", "", "csv or json (default: from the file's extension; csv for export to standard output)")
	replace := c.flags.Bool("replace", false, "import: delete the organisations the file does not list")
	dryRun := c.flags.Bool("dry-run", false, "import: check the file and say what would change, write nothing")
	output := c.flags.String("output", "", "export: write to this file instead of standard output")
	search := c.flags.String("search", "", "list: only organisations whose handle, name, sector or contact e-mail contains this")
	if err := c.parse(args); err != nil {
		return err
	}
	if arg == "" && c.flags.NArg() > 0 {
		arg = c.flags.Arg(0)
	}
	switch sub {
	case "import":
		if arg == "" {
			return c.usageError("cli.constituency.import.file")
		}
		return constituencyImport(ctx, c, arg, *format, *replace, *dryRun)
	case "export":
		return constituencyExport(ctx, c, *format, *output)
	case "lookup":
		if arg == "" {
			return c.usageError("cli.constituency.lookup.query")
		}
		return constituencyLookup(ctx, c, arg)
	case "list":
		return constituencyList(ctx, c, *search)
	case "disable", "enable":
		if arg == "" {
			return c.usageError("cli.constituency.handle", sub)
		}
		return constituencySetDisabled(ctx, c, arg, sub == "disable")
	}
	return c.usageError("cli.constituency.unknown", sub)
}

func constituencyImport(ctx context.Context, c *cmdEnv, file, formatName string, replace, dryRun bool) error {
	format, err := c.fileFormat(file, formatName)
	if err != nil {
		return err
	}
	in := c.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return &fileError{file, err}
		}
		defer f.Close()
		in = f
	}
	// The file is read and checked before the store is opened: a file
	// with problems should not wait for the database, nor touch it.
	orgs, notes, err := constituency.Read(in, format)
	var invalid *constituency.InvalidError
	if errors.As(err, &invalid) {
		errs := c.printProblems(file, invalid.Problems)
		return fmt.Errorf("%s: %s", file, c.tn("cli.constituency.import.errors", errs))
	}
	if err != nil {
		return fmt.Errorf("%s: %s", file, c.explain(err))
	}
	c.printProblems(file, notes)

	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	current, err := a.store.ListOrganisations(ctx, constituency.OrganisationQuery{})
	if err != nil {
		return failedTo(err, "cli.constituency.list.read")
	}
	plan := constituency.PlanImport(orgs, current, replace)
	// What the file brings into conflict with the organisations it keeps
	// stops the import, as in the console.
	if errs := c.printProblems(file, plan.Problems); errs > 0 {
		return fmt.Errorf("%s: %s", file, c.tn("cli.constituency.import.conflicts", errs))
	}
	if dryRun {
		for _, step := range plan.Steps {
			fmt.Fprintf(c.stdout, "%s %s\n", step.Action, step.Handle)
		}
		fmt.Fprintln(c.stdout, c.t("cli.constituency.import.dryrun", plan.Created, plan.Updated, plan.Deleted, plan.Unchanged))
		return nil
	}
	res, err := a.store.ImportOrganisations(ctx, orgs, replace)
	if err != nil {
		return failedTo(err, "cli.constituency.import.failed", file)
	}
	detail := fmt.Sprintf("%d created, %d updated, %d deleted", res.Created, res.Updated, res.Deleted)
	if replace {
		detail += " (replace)"
	}
	if err := a.store.AddAudit(ctx, auth.AuditEntry{Time: time.Now(), Actor: "cli", Action: "constituency.import",
		Target: file, Detail: detail}); err != nil {
		return failedTo(err, "cli.constituency.import.audit", file)
	}
	summary := c.t("cli.constituency.import.done", res.Created, res.Updated, res.Deleted)
	if replace {
		summary += " " + c.t("cli.constituency.import.replace")
	}
	fmt.Fprintf(c.stdout, "%s: %s; %s\n", file, summary, c.tn("cli.constituency.size", len(current)+res.Created-res.Deleted))
	return nil
}

// printProblems writes problems to standard error as compilers do, file
// first, each reason in the command's language, and returns how many are
// errors.
func (c *cmdEnv) printProblems(file string, problems []constituency.Problem) int {
	errs := 0
	for _, p := range problems {
		if p.Severity == constituency.SeverityError {
			errs++
		}
		fmt.Fprintf(c.stderr, "%s: %s\n", file, strings.ReplaceAll(p.In(i18n.Embedded(), c.lang), "\n", `\n`))
	}
	return errs
}

// fileFormat is --format, else the file's extension.
func (c *cmdEnv) fileFormat(file, formatName string) (constituency.Format, error) {
	if formatName != "" {
		f, err := constituency.ParseFormat(formatName)
		if err != nil {
			return "", fmt.Errorf("--format: %s: %w", c.explain(err), errUsage)
		}
		return f, nil
	}
	if file == "-" {
		return "", c.usageError("cli.constituency.stdin")
	}
	f, err := constituency.FormatOf(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", c.explain(err), errUsage)
	}
	return f, nil
}

func constituencyExport(ctx context.Context, c *cmdEnv, formatName, output string) error {
	format := constituency.FormatCSV
	if formatName != "" || output != "" {
		var err error
		if format, err = c.fileFormat(output, formatName); err != nil {
			return err
		}
	}
	a, err := c.openExisting(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	orgs, err := a.store.ListOrganisations(ctx, constituency.OrganisationQuery{})
	if err != nil {
		return failedTo(err, "cli.constituency.list.read")
	}
	if output == "" {
		if err := constituency.Write(c.stdout, format, orgs); err != nil {
			return exportError(err, output)
		}
		return nil
	}
	var buf bytes.Buffer
	if err := constituency.Write(&buf, format, orgs); err != nil {
		return exportError(err, output)
	}
	if err := writeFileAtomically(output, buf.Bytes()); err != nil {
		return exportError(err, output)
	}
	fmt.Fprintln(c.stdout, c.tn("cli.constituency.export.done", len(orgs), output))
	return nil
}

// exportError is an export that cannot be written to the file output,
// or to standard output when output is "".
func exportError(err error, output string) error {
	if output == "" {
		return failedTo(err, "cli.export.stdout")
	}
	return failedTo(err, "cli.export.write", output)
}

// writeFileAtomically replaces path only once the whole content is on
// disk, so that a failed export never leaves half a file where the last
// good one was. The file is private: it holds contacts' personal data.
// An error is about path, not the temporary file beside it, whose name a
// reader has no use for.
func writeFileAtomically(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return aboutFile(path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return aboutFile(path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return aboutFile(path, err)
	}
	if err := tmp.Close(); err != nil {
		return aboutFile(path, err)
	}
	return aboutFile(path, os.Rename(tmp.Name(), path))
}

// aboutFile is err, a failure to write a file in place of path, as a
// failure to write path: the system's reason kept, the file it names
// replaced.
func aboutFile(path string, err error) error {
	var (
		pe *fs.PathError
		le *os.LinkError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return &fs.PathError{Op: "write", Path: path, Err: err}
}

// lookupRuleMessages name the rules as the console's "who owns this?"
// does.
var lookupRuleMessages = map[constituency.RuleKind]string{
	constituency.RuleNetwork: "lookup.rule.prefix",
	constituency.RuleASN:     "lookup.rule.asn",
	constituency.RuleDomain:  "lookup.rule.domain",
}

func constituencyLookup(ctx context.Context, c *cmdEnv, query string) error {
	a, err := c.openExisting(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.directory.Reload(ctx); err != nil {
		return failedTo(err, "cli.start.constituency")
	}
	matches, err := constituency.Owners(ctx, a.directory, a.store, query)
	if err != nil {
		var fe *constituency.FieldError
		if errors.As(err, &fe) {
			return fmt.Errorf("%q: %s", query, c.in(fe.Message))
		}
		return failedTo(err, "cli.constituency.list.read")
	}
	if len(matches) == 0 {
		fmt.Fprintln(c.stdout, c.t("cli.constituency.lookup.none", strings.TrimSpace(query)))
		return nil
	}
	// The console's words, from its catalogue, so that the console, the
	// API's rule codes and this table say the same thing.
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, c.header("org.handle", "lookup.owner", "lookup.rule", "lookup.value"))
	for _, m := range matches {
		name := m.Name
		if m.Disabled {
			name += " " + c.t("cli.constituency.disabled")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Handle, name, c.t(lookupRuleMessages[m.Rule]), m.Value)
	}
	return tw.Flush()
}

func constituencyList(ctx context.Context, c *cmdEnv, search string) error {
	a, err := c.openExisting(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	orgs, err := a.store.ListOrganisations(ctx, constituency.OrganisationQuery{Text: search})
	if err != nil {
		return failedTo(err, "cli.constituency.list.read")
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, c.header("org.handle", "cli.column.name", "cli.column.sector", "cli.column.country", "cli.column.language",
		"cli.column.networks", "cli.column.asns", "cli.column.domains", "cli.column.contacts"))
	for _, o := range orgs {
		if o.Disabled {
			o.Name += " " + c.t("cli.constituency.disabled")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", o.Handle, o.Name, o.Sector, o.Country, o.Language,
			len(o.Networks), len(o.ASNs), len(o.Domains), len(o.Contacts))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(orgs) == 0 && search == "" {
		fmt.Fprintln(c.stderr, c.t("cli.constituency.empty"))
	}
	return nil
}
