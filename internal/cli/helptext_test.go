package cli

import (
	"context"
	"errors"
	"flag"
	"io"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// helpFlagSet is the flag set of one command or subcommand, as its help
// prints it.
type helpFlagSet struct {
	c   *command
	sub string
	fs  *flag.FlagSet
}

// subcommandWords are the words of the commands that have subcommands
// (the dispatch maps where there is one, so a new subcommand is covered).
func subcommandWords() map[string][]string {
	words := map[string][]string{
		"user":         {"add", "list", "passwd", "disable", "totp-reset"},
		"constituency": {"import", "export", "lookup", "list", "disable", "enable"},
		"bench":        {"ingest", "search", "notify", "intake", "site"},
		"feeds":        {"list"},
	}
	for w := range incidentCommands {
		words["incident"] = append(words["incident"], w)
	}
	for w := range publicationCommands {
		words["publication"] = append(words["publication"], w)
	}
	for w := range deadLetterCommands {
		words["deadletters"] = append(words["deadletters"], w)
	}
	for w := range feedCommands {
		words["feeds"] = append(words["feeds"], w)
	}
	for _, ws := range words {
		sort.Strings(ws)
	}
	return words
}

// allHelpFlagSets runs every command and subcommand with -h, which stops
// at the flags, and returns their flag sets.
func allHelpFlagSets(t *testing.T) []helpFlagSet {
	t.Helper()
	subs := subcommandWords()
	var sets []helpFlagSet
	for _, c := range commands {
		for _, sub := range append([]string{""}, subs[c.name]...) {
			env := newEnv(c, strings.NewReader(""), io.Discard, io.Discard, i18n.Source)
			env.getenv = func(string) string { return "" }
			args := []string{"-h"}
			if sub != "" {
				args = []string{sub, "-h"}
			}
			if err := c.run(context.Background(), env, args); !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("vigil %s %s -h: %v, want the help", c.name, sub, err)
			}
			sets = append(sets, helpFlagSet{c: c, sub: sub, fs: env.flags})
		}
	}
	return sets
}

// TestFlagHelpInCatalogue: every flag of every command and subcommand has
// its description in every catalogue, and the English one is the code's.
func TestFlagHelpInCatalogue(t *testing.T) {
	cat := i18n.Embedded()
	for _, s := range allHelpFlagSets(t) {
		s.fs.VisitAll(func(f *flag.Flag) {
			id := flagKey(s.c, s.sub, f.Name)
			if id == "" {
				t.Errorf("vigil %s %s --%s: no cli.flag message (%q)", s.c.name, s.sub, f.Name, f.Usage)
				return
			}
			if got := cat.Text(i18n.Source, id); got != f.Usage {
				t.Errorf("%s = %q, the code says %q", id, got, f.Usage)
			}
			for _, l := range cat.Languages() {
				if !contains(cat.IDs(l.Code), id) {
					t.Errorf("%s: no %s in the %s catalogue", f.Name, id, l.Code)
				}
			}
		})
	}
}

func contains(ids []string, id string) bool {
	i := sort.SearchStrings(ids, id)
	return i < len(ids) && ids[i] == id
}

// helpKeys are the prefixes of the messages the help prints.
var helpKeys = []string{"cli.flag.", "cli.help.text.", "cli.help.line."}

func isHelpKey(id string) bool {
	for _, p := range helpKeys {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}

// goTypeName is a flag line of the help with Go's name of its type.
var goTypeName = regexp.MustCompile(`(?m)^  -[a-z-]+ (string|int|value)$`)

// TestHelpTranslated: `vigil COMMAND [SUB] -h` with VIGIL_LANG=nl, fr or de
// prints no English flag description, usage line or long help: none of
// the English catalogue's help messages is left in it, and each of them
// has a translation of its own in every language.
func TestHelpTranslated(t *testing.T) {
	cat := i18n.Embedded()
	sets := allHelpFlagSets(t)
	for _, l := range cat.Languages() {
		if l.Code == i18n.Source {
			continue
		}
		for _, id := range cat.IDs(i18n.Source) {
			if isHelpKey(id) && cat.Text(l.Code, id) == cat.Text(i18n.Source, id) {
				t.Errorf("%s: %s is the English", l.Code, id)
			}
		}
		t.Setenv("VIGIL_LANG", l.Code)
		for _, s := range sets {
			args := []string{s.c.name, "-h"}
			if s.sub != "" {
				args = []string{s.c.name, s.sub, "-h"}
			}
			var out strings.Builder
			if code := Main(args, strings.NewReader(""), &out, io.Discard); code != 0 {
				t.Fatalf("vigil %v: exit %d", args, code)
			}
			help := out.String()
			for _, id := range cat.IDs(i18n.Source) {
				if en := cat.Text(i18n.Source, id); isHelpKey(id) && strings.Contains(help, en) {
					t.Errorf("VIGIL_LANG=%s vigil %v: %s left in English: %q", l.Code, args, id, en)
				}
			}
			if m := goTypeName.FindString(help); m != "" {
				t.Errorf("VIGIL_LANG=%s vigil %v: flag type in English: %q", l.Code, args, m)
			}
			s.fs.VisitAll(func(f *flag.Flag) {
				if want := cat.Text(l.Code, flagKey(s.c, s.sub, f.Name)); !strings.Contains(help, want) {
					t.Errorf("VIGIL_LANG=%s vigil %v: --%s not described as %q:\n%s", l.Code, args, f.Name, want, help)
				}
			})
		}
	}
}

// TestCommandHelpInCatalogue: every command's long help, and its usage
// line when it has a placeholder (FILE, NAME, …), is in the catalogue,
// the English one the same as the code's.
func TestCommandHelpInCatalogue(t *testing.T) {
	cat := i18n.Embedded()
	placeholder := regexp.MustCompile(`\b[A-Z]{2,}\b`)
	for _, c := range commands {
		checks := map[string]string{}
		if h := strings.TrimSpace(c.help); h != "" {
			checks["cli.help.text."+c.name] = h
		}
		if placeholder.MatchString(c.usage) {
			checks["cli.help.line."+c.name] = c.usage
		}
		for id, code := range checks {
			if !cat.Has(id) {
				t.Errorf("vigil %s: no %s in the catalogue", c.name, id)
				continue
			}
			if got := cat.Text(i18n.Source, id); got != code {
				t.Errorf("%s = %q, the code says %q", id, got, code)
			}
		}
	}
}

// TestSynopsisTranslated: `vigil help` says "vigil COMMAND [flags]
// [arguments]" in each language, and the flags' types are named in it.
func TestSynopsisTranslated(t *testing.T) {
	cat := i18n.Embedded()
	for _, l := range cat.Languages() {
		t.Setenv("VIGIL_LANG", l.Code)
		var out strings.Builder
		Main([]string{"help"}, strings.NewReader(""), &out, io.Discard)
		want := "vigil " + cat.Text(l.Code, "cli.help.synopsis")
		if !strings.Contains(out.String(), want) {
			t.Errorf("%s: vigil help does not say %q:\n%s", l.Code, want, out.String())
		}
		if l.Code == i18n.Source {
			continue
		}
		if strings.Contains(out.String(), "COMMAND [flags]") {
			t.Errorf("%s: vigil help says COMMAND [flags] in English", l.Code)
		}
		for _, id := range []string{"cli.help.synopsis", "cli.help.type.string", "cli.help.type.int", "cli.help.type.value"} {
			if cat.Text(l.Code, id) == cat.Text(i18n.Source, id) {
				t.Errorf("%s: %s is the English", l.Code, id)
			}
		}
	}
}
