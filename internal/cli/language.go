package cli

// The language the command line speaks. What a person reads (errors,
// confirmations, summaries, table headers) comes from the catalogue in
// the language chosen here; what a program reads (JSON, CSV, JSON Lines,
// field names) stays as it is in every language.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// localeVariables are read in this order; the first one set decides.
// VIGIL_LANG picks Vigil's language alone; LC_ALL, LC_MESSAGES and LANG
// are the POSIX locale, in POSIX's order of precedence.
var localeVariables = []string{"VIGIL_LANG", "LC_ALL", "LC_MESSAGES", "LANG"}

// cliLanguage chooses the command line's language from the environment:
// nl_BE.UTF-8 is nl, fr is fr; C, POSIX and a language without a
// catalogue are English.
func cliLanguage(getenv func(string) string) string {
	for _, name := range localeVariables {
		if v := getenv(name); v != "" {
			return localeLanguage(v)
		}
	}
	return i18n.Source
}

// localeLanguage is the catalogue language of a locale name such as
// de_DE.UTF-8@euro or nl-BE, the source language when there is none.
func localeLanguage(locale string) string {
	code := locale
	if i := strings.IndexAny(code, "_-.@"); i >= 0 {
		code = code[:i]
	}
	code = strings.ToLower(code)
	if i18n.Embedded().Supported(code) {
		return code
	}
	return i18n.Source
}

// t is the message id, formatted with args, in the command's language.
func (c *cmdEnv) t(id string, args ...any) string {
	return i18n.Embedded().T(c.lang, id, args...)
}

// tn is the form of the message id that count takes in the command's
// language (id.one or id.other), the count first, grouped as the
// language groups digits, then args.
func (c *cmdEnv) tn(id string, count int, args ...any) string {
	return i18n.Embedded().Plural(c.lang, id, count, args...)
}

// in is m in the command's language.
func (c *cmdEnv) in(m i18n.Message) string {
	return m.In(i18n.Embedded(), c.lang)
}

// explain is err in the command's language when it explains itself
// (i18n.Explained), else as it says it.
func (c *cmdEnv) explain(err error) string {
	if m, ok := i18n.Explain(err); ok {
		return c.in(m)
	}
	return err.Error()
}

// usageError is a usage error (Main prints the command's usage after it)
// saying the message id.
func (c *cmdEnv) usageError(id string, args ...any) error {
	return fmt.Errorf("%s: %w", c.t(id, args...), errUsage)
}

// fail is an error saying the message id.
func (c *cmdEnv) fail(id string, args ...any) error {
	return errors.New(c.t(id, args...))
}

// header is a table's header line: the messages ids in capitals, between
// tabs, for a tabwriter.
func (c *cmdEnv) header(ids ...string) string {
	words := make([]string, len(ids))
	for i, id := range ids {
		words[i] = strings.ToUpper(c.t(id))
	}
	return strings.Join(words, "\t")
}

// fileError is a file the command was given that cannot be read, said in
// the reader's language (Main explains it); Error is the system's text.
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string         { return e.err.Error() }
func (e *fileError) Unwrap() error         { return e.err }
func (e *fileError) Explain() i18n.Message { return i18n.FileProblem(e.path, e.err) }
