// Package cli is the vigil command line: one file per command, each a
// small function over the explicit app wiring in app.go.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
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
}

var commands = []*command{
	cmdServe, cmdIngest, cmdEvents, cmdDeadLetters, cmdIncident, cmdFeeds, cmdConstituency, cmdUser, cmdMigrate, cmdBench, cmdVersion,
}

// errUsage asks Main to print the command's usage.
var errUsage = errors.New("usage")

// Main runs the command line and returns the exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c := find(args[1]); c != nil {
				printCommandHelp(stdout, c, nil)
				return 0
			}
		}
		printHelp(stdout)
		return 0
	}
	c := find(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "vigil: unknown command %q\n\n", args[0])
		printHelp(stderr)
		return 2
	}
	fs := flag.NewFlagSet("vigil "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := &cmdEnv{stdin: stdin, stdout: stdout, stderr: stderr, flags: fs, getenv: os.Getenv}
	env.dataDir = fs.String("data", "", "data directory (env VIGIL_DATA, default ./vigil-data)")
	env.configFile = fs.String("config", "", "YAML configuration file (env VIGIL_CONFIG)")
	env.database = fs.String("database", "", "postgres://… URL; empty uses SQLite in the data directory (env VIGIL_DATABASE)")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.run(ctx, env, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		printCommandHelp(stdout, c, fs)
		return 0
	case errors.Is(err, errUsage):
		msg := strings.TrimSuffix(err.Error(), ": "+errUsage.Error())
		if msg != errUsage.Error() {
			fmt.Fprintf(stderr, "vigil %s: %s\n\n", c.name, msg)
		}
		printCommandHelp(stderr, c, fs)
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "vigil: interrupted")
		return 130
	}
	fmt.Fprintf(stderr, "vigil %s: %v\n", c.name, err)
	return 1
}

// parse parses the command's flags, reporting a bad flag as a usage error.
func (c *cmdEnv) parse(args []string) error {
	if err := c.flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	return nil
}

func find(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `Vigil is an operations platform for CERT and CSIRT teams: it gathers feeds,
turns them into harmonized events, and lets analysts search and act on them.

Usage: vigil COMMAND [flags] [arguments]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Every command takes --data DIR (env VIGIL_DATA, default ./vigil-data) and
--config FILE (env VIGIL_CONFIG). Run 'vigil COMMAND --help' for details.

Start here:
  vigil serve --demo        console on http://127.0.0.1:8080 with demo data
  vigil ingest report.csv   read a feed file into the store
  vigil events search --cidr 192.0.2.0/24
`)
}

func printCommandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: vigil %s %s\n\n%s\n", c.name, c.usage, c.summary)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	}
	if fs != nil {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}
