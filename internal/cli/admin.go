package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

var cmdFeeds = &command{
	name:    "feeds",
	summary: "show each feed's last run, lines read, events out, dead letters, duplicates, lag",
	usage:   "[list|modules|run NAME|pause NAME|resume NAME]",
	help: `'vigil feeds modules' lists the collectors, parsers, enrichers and outputs
this binary has. The list shows the configuration file's feeds and those
added in the console or the API.

'run NAME' asks the running 'vigil serve' to run the feed at once (through
the database, so any process running the feeds takes it); the run shows on
the feed's page in the console. 'pause NAME' stops scheduling the feed (a
run in progress finishes), 'resume NAME' schedules it again. Both are kept
as the console's override of the configuration file, shown on the feeds
page, and audited.`,
	run:         runFeeds,
	subcommands: true,
}

// cliActor is the command line as the feed manager audits its changes.
var cliActor = config.FeedActor{Name: "cli"}

// feedCommands are the words runFeeds knows besides list and modules;
// each returns the message saying what it did (its id, and that id with
// ".failed" saying it could not), and the feed manager audits each.
var feedCommands = map[string]func(ctx context.Context, a *app, name string) (string, error){
	"run": func(ctx context.Context, a *app, name string) (string, error) {
		return "cli.feeds.run", a.feedManager().RequestRun(ctx, name, cliActor)
	},
	"pause": func(ctx context.Context, a *app, name string) (string, error) {
		_, err := a.feedManager().SetPaused(ctx, name, true, cliActor)
		return "cli.feeds.pause", err
	},
	"resume": func(ctx context.Context, a *app, name string) (string, error) {
		_, err := a.feedManager().SetPaused(ctx, name, false, cliActor)
		return "cli.feeds.resume", err
	},
}

// runFeedCommand runs, pauses or resumes the feed named by args.
func runFeedCommand(ctx context.Context, c *cmdEnv, word string, args []string) error {
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	if len(words) != 1 {
		return c.usageError("cli.feeds.name", word)
	}
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	done, err := feedCommands[word](ctx, a, words[0])
	if errors.Is(err, store.ErrNotFound) {
		return c.fail("cli.feeds.notfound", words[0])
	}
	var audit *config.AuditError
	if errors.As(err, &audit) {
		return failedTo(audit.Err, "cli.feeds.audit", words[0])
	}
	if err != nil {
		return failedTo(err, done+".failed", words[0])
	}
	fmt.Fprintln(c.stdout, c.t(done, words[0]))
	return nil
}

func runFeeds(ctx context.Context, c *cmdEnv, args []string) error {
	if len(args) > 0 && feedCommands[args[0]] != nil {
		return runFeedCommand(ctx, c, args[0], args[1:])
	}
	if len(args) > 0 && args[0] != "list" && args[0] != "modules" && !strings.HasPrefix(args[0], "-") {
		return c.usageError("cli.feeds.unknown", args[0])
	}
	if len(args) > 0 && args[0] == "modules" {
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		for _, m := range pipeline.Modules() {
			fmt.Fprintf(tw, "%s\t%s\n", m.ID, m.Doc)
		}
		return tw.Flush()
	}
	if len(args) > 0 && args[0] == "list" {
		args = args[1:]
	}
	if err := c.parse(args); err != nil {
		return err
	}
	a, err := c.openExisting(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	status, err := a.store.ListFeedStatus(ctx)
	if err != nil {
		return failedTo(err, "cli.feeds.list.read")
	}
	feeds := store.SumFeeds(status)
	known := map[string]bool{}
	for _, s := range feeds {
		known[s.Name] = true
	}
	effective, err := a.effectiveFeeds(ctx)
	if err != nil {
		return err
	}
	for _, f := range effective {
		if !known[f.Name] {
			feeds = append(feeds, store.FeedTotals{FeedStatus: store.FeedStatus{Name: f.Name}})
		}
	}
	c.writeFeeds(feeds, time.Now())
	for _, f := range effective {
		// A definition changed in the console that no longer validates
		// is not used: the operator reading the list is told why.
		if !f.Problem.IsZero() {
			fmt.Fprintf(c.stdout, "%s: %s\n", f.Name, c.t("feedadmin.problem", f.Problem))
		}
	}
	return nil
}

// writeFeeds prints each feed's totals and, indented under it, the report
// types it brought.
func (c *cmdEnv) writeFeeds(feeds []store.FeedTotals, now time.Time) {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, c.header("cli.column.feed", "cli.column.lastrun", "cli.column.lines", "cli.column.events",
		"cli.column.deadletters", "cli.column.duplicates", "cli.column.warnings", "cli.column.lag", "cli.column.lasterror"))
	line := func(name string, s store.FeedStatus) {
		run, lag := c.t("cli.feeds.never"), "-"
		if !s.LastRun.IsZero() {
			run = s.LastRun.UTC().Format("2006-01-02 15:04")
		}
		if !s.LastEvent.IsZero() {
			lag = i18n.Embedded().Duration(c.lang, now.Sub(s.LastEvent))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", name, run, s.LinesRead, s.EventsOut,
			s.DeadLetters, s.Duplicates, s.Warnings, lag, shorten(s.LastReason(i18n.Embedded(), c.lang), 60))
	}
	for _, f := range feeds {
		line(f.Name, f.FeedStatus)
		for _, r := range f.Reports {
			line("  "+r.Report, r)
		}
	}
	tw.Flush()
}

var cmdUser = &command{
	name:    "user",
	summary: "add, list and change console users",
	usage:   "add NAME --role admin|analyst|publisher|constituent [--org HANDLE] [--email E] [--password-stdin] | list | passwd NAME | disable NAME | totp-reset NAME",
	help: `'add' asks for the password twice on a terminal, or reads one line from
standard input with --password-stdin. Roles: admin (everything, users,
audit log), analyst (events, dead letters, feeds), publisher (advisories).
'totp-reset' removes a user's second factor and recovery codes, for a
person who lost both (the user sets a new one up on the account page).`,
	run:         runUser,
	subcommands: true,
}

func runUser(ctx context.Context, c *cmdEnv, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return c.parse(args)
	}
	if len(args) == 0 {
		return c.usageError("cli.user.sub")
	}
	sub, args := args[0], args[1:]
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	role := c.flags.String("role", "analyst", "admin, analyst, publisher or constituent")
	org := c.flags.String("org", "", "the organisation (short name) of a constituent user")
	email := c.flags.String("email", "", "e-mail address")
	lang := c.flags.String("language", "en", "console language: en, nl, fr or de")
	fromStdin := c.flags.Bool("password-stdin", false, "read the password from standard input")
	if err := c.parse(args); err != nil {
		return err
	}
	if name == "" && c.flags.NArg() > 0 {
		name = c.flags.Arg(0)
	}
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	// A change the audit log does not record is an error, as the
	// console's is: the account is changed, the operator is told.
	audit := func(action, target string) error {
		err := a.store.AddAudit(ctx, auth.AuditEntry{Time: time.Now(), Actor: "cli", Action: action, Target: target})
		if err != nil {
			return failedTo(err, "cli.user.audit", target)
		}
		return nil
	}
	switch sub {
	case "list":
		users, err := a.store.ListUsers(ctx)
		if err != nil {
			return failedTo(err, "cli.user.list.read")
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, c.header("cli.column.name", "cli.column.role", "cli.column.email", "cli.column.totp", "cli.column.disabled", "cli.column.created"))
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, u.Email, c.yesNo(u.TOTPSecret != ""), c.yesNo(u.Disabled), u.Created.UTC().Format("2006-01-02"))
		}
		return tw.Flush()
	case "add":
		if err := addUser(ctx, c, a, name, *role, *org, *email, *lang, *fromStdin); err != nil {
			return err
		}
		if err := audit("user.create", name); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, c.t("cli.user.created", name, *role))
		return nil
	case "passwd", "disable":
		if name == "" {
			return c.usageError("cli.user.name", sub)
		}
		u, err := c.userByName(ctx, a, name)
		if err != nil {
			return err
		}
		if sub == "disable" {
			u.Disabled = true
		} else {
			pw, err := readPassword(c, *fromStdin)
			if err != nil {
				return err
			}
			if u.PasswordHash, err = auth.HashPassword(pw); err != nil {
				return failedTo(err, "cli.user.password.hash")
			}
		}
		if err := a.store.UpdateUser(ctx, u); err != nil {
			return failedTo(err, "cli.user.write", name)
		}
		if err := a.store.DeleteUserSessions(ctx, u.ID); err != nil {
			return failedTo(err, "cli.user.sessions", name)
		}
		if err := audit("user."+sub, name); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, c.t("cli.user.updated", name))
		return nil
	case "totp-reset":
		if name == "" {
			return c.usageError("cli.user.name", sub)
		}
		u, err := c.userByName(ctx, a, name)
		if err != nil {
			return err
		}
		u.TOTPSecret = ""
		if err := a.store.UpdateUser(ctx, u); err != nil {
			return failedTo(err, "cli.user.write", name)
		}
		if err := a.store.ReplaceRecoveryCodes(ctx, u.ID, nil); err != nil {
			return failedTo(err, "cli.user.recovery", name)
		}
		if err := audit("user.totp-reset", name); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, c.t("cli.user.totpreset", name))
		return nil
	}
	return c.usageError("cli.user.unknown", sub)
}

// userByName is the account called name, or an error saying there is
// none.
func (c *cmdEnv) userByName(ctx context.Context, a *app, name string) (auth.User, error) {
	u, err := a.store.GetUserByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return u, c.fail("cli.user.notfound", name)
	}
	if err != nil {
		return u, failedTo(err, "cli.user.read", name)
	}
	return u, nil
}

// yesNo is a yes or no for a table cell.
func (c *cmdEnv) yesNo(b bool) string {
	if b {
		return c.t("cli.yes")
	}
	return c.t("cli.no")
}

// addUser creates a user: a team member with no organisation, or a
// constituent user of the organisation with the short name org.
func addUser(ctx context.Context, c *cmdEnv, a *app, name, role, org, email, lang string, fromStdin bool) error {
	if name == "" {
		return c.usageError("cli.user.name", "add")
	}
	if !auth.ValidRole(auth.Role(role)) {
		return c.fail("cli.user.role", role)
	}
	// A constituent sees its organisation's events; a team member
	// belongs to no organisation.
	var orgID int64
	switch {
	case auth.Role(role) == auth.RoleConstituent && org == "":
		return c.usageError("cli.user.org.needed")
	case auth.Role(role) != auth.RoleConstituent && org != "":
		return c.usageError("cli.user.org.team")
	case org != "":
		o, err := a.store.GetOrganisationByHandle(ctx, org)
		if errors.Is(err, store.ErrNotFound) {
			return c.fail("cli.user.org.notfound", org)
		}
		if err != nil {
			return failedTo(err, "cli.constituency.read", org)
		}
		orgID = o.ID
	}
	if !i18n.Embedded().Supported(lang) {
		return c.usageError("cli.user.language", lang)
	}
	pw, err := readPassword(c, fromStdin)
	if err != nil {
		return err
	}
	u, err := auth.NewUser(name, email, auth.Role(role), pw, lang)
	if errors.Is(err, auth.ErrBadUserName) {
		return c.fail("cli.user.badname", name)
	}
	if err != nil {
		return failedTo(err, "cli.user.password.hash")
	}
	u.OrgID = orgID
	if err := a.store.CreateUser(ctx, &u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return c.fail("cli.user.exists", name)
		}
		return failedTo(err, "cli.user.write", name)
	}
	return nil
}

func readPassword(c *cmdEnv, fromStdin bool) (string, error) {
	var pw string
	if fromStdin {
		buf := make([]byte, 0, 256)
		one := make([]byte, 1)
		for {
			n, err := c.stdin.Read(one)
			if n == 0 || err != nil || one[0] == '\n' {
				break
			}
			buf = append(buf, one[0])
		}
		pw = strings.TrimRight(string(buf), "\r")
	} else {
		fd := 0
		if !term.IsTerminal(fd) {
			return "", c.fail("cli.user.password.noterminal")
		}
		fmt.Fprint(c.stderr, c.t("cli.user.password.ask")+" ")
		p1, err := term.ReadPassword(fd)
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", failedTo(err, "cli.user.password.read")
		}
		fmt.Fprint(c.stderr, c.t("cli.user.password.again")+" ")
		p2, err := term.ReadPassword(fd)
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", failedTo(err, "cli.user.password.read")
		}
		if string(p1) != string(p2) {
			return "", c.fail("cli.user.password.differ")
		}
		pw = string(p1)
	}
	if err := auth.ValidateNewPassword(pw); errors.Is(err, auth.ErrPasswordTooShort) {
		return "", c.fail("cli.user.password.short", auth.MinPasswordLength)
	} else if err != nil {
		return "", err
	}
	return pw, nil
}

var cmdMigrate = &command{
	name:    "migrate",
	summary: "create or upgrade the database schema (serve does this on start)",
	usage:   "[--database postgres://…]",
	run: func(ctx context.Context, c *cmdEnv, args []string) error {
		if err := c.parse(args); err != nil {
			return err
		}
		a, err := c.open(ctx)
		if err != nil {
			return err
		}
		defer a.Close()
		where := a.cfg.Path("vigil.db")
		if a.cfg.Database != "" {
			where = "PostgreSQL"
		}
		fmt.Fprintln(c.stdout, c.t("cli.migrate.done", where))
		return nil
	},
}

var cmdVersion = &command{
	name:    "version",
	summary: "print the version",
	usage:   "",
	run: func(ctx context.Context, c *cmdEnv, args []string) error {
		if err := c.parse(args); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "vigil %s\n", Version)
		return nil
	},
}
