// Package cli is the vigil command line: one file per command, each a
// small function over the explicit app wiring in app.go.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// Version is set at build time (-ldflags "-X …/cli.Version=…").
var Version = "dev"

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // after "vigil NAME "
	help    string // longer text for `vigil NAME --help`
	run     func(ctx context.Context, c *cmdEnv, args []string) error
	// subcommands is set for a command whose first word names what it
	// does ("events search", "deadletters show 3"): the common flags may
	// then stand before that word too (commonFlagsAfterWord).
	subcommands bool
}

// cmdEnv is what every command gets: its streams and the common flags.
type cmdEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	flags          *flag.FlagSet
	dataDir        *string
	configFile     *string
	database       *string
	getenv         func(string) string
	// lang is the language messages to a person are in (cliLanguage).
	lang string
	// warned holds the options whose password parse has warned about,
	// so that a command parsing its arguments in steps warns once.
	warned map[string]bool
}

// stderrTerminal is the command's stderr when it is a terminal, for a
// progress bar; nil otherwise.
func (c *cmdEnv) stderrTerminal() *os.File {
	if f, ok := c.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return f
	}
	return nil
}

var commands = []*command{
	cmdServe, cmdIngest, cmdEvents, cmdDeadLetters, cmdIncident, cmdPublication, cmdFeeds, cmdConstituency, cmdUser, cmdMigrate, cmdMigrateEvents, cmdBench, cmdVersion,
}

// errUsage asks Main to print the command's usage.
var errUsage = errors.New("usage")

// Main runs the command line and returns the exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	lang := cliLanguage(os.Getenv)
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c := find(args[1]); c != nil {
				printCommandHelp(stdout, c, nil, "", lang)
				return 0
			}
		}
		printHelp(stdout, lang)
		return 0
	}
	c := find(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "vigil: %s\n\n", i18n.Embedded().T(lang, "cli.error.command", args[0]))
		printHelp(stderr, lang)
		return 2
	}
	env := newEnv(c, stdin, stdout, stderr, lang)
	rest := args[1:]
	if c.subcommands {
		rest = commonFlagsAfterWord(rest)
	}
	fs, sub := env.flags, subcommandWord(rest)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.run(ctx, env, rest)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		printCommandHelp(stdout, c, fs, sub, lang)
		return 0
	case errors.Is(err, errUsage):
		msg := strings.TrimSuffix(err.Error(), ": "+errUsage.Error())
		if msg != errUsage.Error() {
			fmt.Fprintf(stderr, "vigil %s: %s\n\n", c.name, msg)
		}
		printCommandHelp(stderr, c, fs, sub, lang)
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "vigil: "+env.t("cli.interrupted"))
		return 130
	}
	if m, ok := i18n.Explain(err); ok {
		fmt.Fprintf(stderr, "vigil %s: %s\n", c.name, env.in(m))
		return 1
	}
	fmt.Fprintf(stderr, "vigil %s: %v\n", c.name, err)
	return 1
}

// commonFlagsAfterWord returns args with the common flags (each takes a
// value) that stand before the first word moved after it: "--data DIR
// list" becomes "list --data DIR", as "Every command takes --data DIR"
// lets a person write it, and a subcommand reads its flags wherever they
// stand. Any other flag before the word leaves args as they are: the
// command reads them (a list's flags, without its word).
func commonFlagsAfterWord(args []string) []string {
	i := 0
	for i < len(args) {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || args[i] == "--" || !commonFlags[name] {
			break
		}
		if hasValue {
			i++
		} else {
			i += 2
		}
	}
	if i == 0 || i >= len(args) || strings.HasPrefix(args[i], "-") {
		return args
	}
	out := make([]string, 0, len(args))
	out = append(out, args[i])
	out = append(out, args[:i]...)
	return append(out, args[i+1:]...)
}

// parse parses the command's flags, reporting a bad flag as a usage error.
func (c *cmdEnv) parse(args []string) error {
	if err := c.flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%s: %w", c.flagError(err), errUsage)
	}
	// A database URL given as an option is in the process list for every
	// user of the machine to read (ps): one with a password is warned
	// about, and the reader told where PostgreSQL takes it from instead.
	c.flags.Visit(func(f *flag.Flag) {
		if (f.Name == "database" || f.Name == "postgres") && !c.warned[f.Name] && dsnHasPassword(f.Value.String()) {
			if c.warned == nil {
				c.warned = map[string]bool{}
			}
			c.warned[f.Name] = true
			fmt.Fprintln(c.stderr, c.t("cli.flag.password", "--"+f.Name))
		}
	})
	return nil
}

// dsnHasPassword says whether a PostgreSQL connection string, a URL or
// key=value words, carries a password.
func dsnHasPassword(dsn string) bool {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return false
		}
		if pw, ok := u.User.Password(); ok && pw != "" {
			return true
		}
		return u.Query().Get("password") != ""
	}
	return dsnPasswordWord.MatchString(dsn)
}

// dsnPasswordWord is a password=… word of a key=value connection string.
var dsnPasswordWord = regexp.MustCompile(`(?:^|\s)password\s*=\s*\S`)

// flagErrors match the flag package's errors that a person meets, each
// with the message that says it in their language: the option, and the
// value given.
var flagErrors = []struct {
	re *regexp.Regexp
	id string
}{
	{regexp.MustCompile(`^flag provided but not defined: (-\S+)$`), "cli.flag.undefined"},
	{regexp.MustCompile(`^flag needs an argument: (-\S+)$`), "cli.flag.noarg"},
	{regexp.MustCompile(`^invalid (?:boolean )?value ("(?:[^"\\]|\\.)*") for (?:flag )?(-\S+): (.*)$`), "cli.flag.value"},
}

// flagParseErrors are the flag package's own reasons for a value it does
// not take (a number or a boolean that does not parse); any other reason
// is the option's (a flag.Value's), which says it already.
var flagParseErrors = map[string]bool{"parse error": true, "value out of range": true}

// flagError is err, an error of the flag package, in the command's
// language when it is one of flagErrors, else as it is. The option is
// named with two dashes, as the help writes it (the flag package names
// it with one).
func (c *cmdEnv) flagError(err error) string {
	msg := err.Error()
	for _, f := range flagErrors {
		m := f.re.FindStringSubmatch(msg)
		switch {
		case m == nil:
			continue
		case len(m) == 4: // the value, the option, the reason
			if !flagParseErrors[m[3]] {
				return "-" + m[2] + ": " + m[3]
			}
			value, uerr := strconv.Unquote(m[1])
			if uerr != nil {
				value = m[1]
			}
			return c.t(f.id, "-"+m[2], value)
		default:
			return c.t(f.id, "-"+m[1])
		}
	}
	return msg
}

func find(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// summaryIn is the command's one line in lang, its English summary when
// the catalogue has none.
func (c *command) summaryIn(lang string) string {
	if id := "cli.summary." + c.name; i18n.Embedded().Has(id) {
		return i18n.Embedded().T(lang, id)
	}
	return c.summary
}

func printHelp(w io.Writer, lang string) {
	cat := i18n.Embedded()
	fmt.Fprintf(w, "%s\n\n%s: vigil %s\n\n%s:\n", cat.T(lang, "cli.help.intro"), cat.T(lang, "cli.help.usage"), cat.T(lang, "cli.help.synopsis"), cat.T(lang, "cli.help.commands"))
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summaryIn(lang))
	}
	fmt.Fprintf(w, "\n%s\n", cat.T(lang, "cli.help.footer"))
}

// newEnv is the environment command c runs in: its streams, its flag set
// with the common flags, and the language.
func newEnv(c *command, stdin io.Reader, stdout, stderr io.Writer, lang string) *cmdEnv {
	fs := flag.NewFlagSet("vigil "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := &cmdEnv{stdin: stdin, stdout: stdout, stderr: stderr, flags: fs, getenv: os.Getenv, lang: lang}
	env.dataDir = fs.String("data", "", "data directory (env VIGIL_DATA, default ./vigil-data)")
	env.configFile = fs.String("config", "", "YAML configuration file (env VIGIL_CONFIG)")
	env.database = fs.String("database", "", "postgres://… URL; empty uses SQLite in the data directory (env VIGIL_DATABASE)")
	return env
}

// printCommandHelp prints command c's usage, summary, long help and, with
// fs, its flags (those of the subcommand sub when there is one), all in
// lang.
func printCommandHelp(w io.Writer, c *command, fs *flag.FlagSet, sub, lang string) {
	cat := i18n.Embedded()
	fmt.Fprintf(w, "%s: vigil %s %s\n\n%s\n", cat.T(lang, "cli.help.usage"), c.name, c.usageIn(lang), c.summaryIn(lang))
	if help := c.helpIn(lang); help != "" {
		fmt.Fprintf(w, "\n%s\n", help)
	}
	if fs != nil {
		fmt.Fprintf(w, "\n%s:\n", cat.T(lang, "cli.help.flags"))
		printFlags(w, c, fs, sub, lang)
	}
}
