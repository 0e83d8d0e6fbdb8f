package cli

// The command line's help in its language: each flag's description, each
// command's usage line and long help come from the catalogue, in this one
// place, so the code keeps only the English (TestFlagHelpInCatalogue
// fails when a flag has no message).

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// commonFlags are the flags every command has (newEnv); their messages
// are cli.flag.NAME.
var commonFlags = map[string]bool{"data": true, "config": true, "database": true}

// flagKey is the catalogue message of flag name in command c's help:
// cli.flag.COMMAND.SUB.NAME when the subcommand sub has a flag of that
// name of its own, else cli.flag.COMMAND.NAME, and cli.flag.NAME for the
// common flags. It is "" when the catalogue has none.
func flagKey(c *command, sub, name string) string {
	cat := i18n.Embedded()
	var ids []string
	if commonFlags[name] {
		ids = []string{"cli.flag." + name}
	} else {
		if sub != "" {
			ids = append(ids, "cli.flag."+c.name+"."+sub+"."+name)
		}
		ids = append(ids, "cli.flag."+c.name+"."+name)
	}
	for _, id := range ids {
		if cat.Has(id) {
			return id
		}
	}
	return ""
}

// subcommandWord is the word naming the subcommand in args (the first
// that is not a flag), "" when there is none.
func subcommandWord(args []string) string {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0]
	}
	return ""
}

// printFlags prints the flags of fs as flag.PrintDefaults does, each
// described in lang (the English of the code when the catalogue has no
// message), with the default values as they are.
func printFlags(w io.Writer, c *command, fs *flag.FlagSet, sub, lang string) {
	cat := i18n.Embedded()
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		if id := flagKey(c, sub, f.Name); id != "" {
			usage = cat.T(lang, id)
		}
		line := "  -" + f.Name
		if kind != "" {
			line += " " + typeName(kind, lang)
		}
		usage = strings.ReplaceAll(usage, "\n", "\n    \t")
		line += "\n    \t" + usage
		if !zeroDefault(f.DefValue) {
			def := f.DefValue
			if kind == "string" {
				def = fmt.Sprintf("%q", def)
			}
			line += " (" + cat.T(lang, "cli.help.default", def) + ")"
		}
		fmt.Fprintln(w, line)
	})
}

// typeName is the name of a flag's value type (string, int, value) in
// lang, the Go name when the catalogue has none.
func typeName(kind, lang string) string {
	if id := "cli.help.type." + kind; i18n.Embedded().Has(id) {
		return i18n.Embedded().T(lang, id)
	}
	return kind
}

// zeroDefault reports whether a flag's default is its type's zero value,
// which the help does not print.
func zeroDefault(v string) bool {
	return v == "" || v == "0" || v == "false" || v == "0s" || v == "[]"
}

// usageIn is the command's usage line (after "vigil NAME ") in lang: the
// placeholders translated, the flags and words as they are.
func (c *command) usageIn(lang string) string {
	if id := "cli.help.line." + c.name; i18n.Embedded().Has(id) {
		return i18n.Embedded().T(lang, id)
	}
	return c.usage
}

// helpIn is the command's long help in lang, "" when it has none.
func (c *command) helpIn(lang string) string {
	if id := "cli.help.text." + c.name; i18n.Embedded().Has(id) {
		return i18n.Embedded().T(lang, id)
	}
	return strings.TrimSpace(c.help)
}
