package console

import (
	"net/url"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
)

// The runs of a feed's page, each with the names of what it read: the
// first feedadmin.RunInputNames inputs, each shortened for the table
// with its full name in a title, and how many more it read.

// feedRun is one run of a feed's page.
type feedRun struct {
	feedadmin.Run
	Names []inputName
	// More is how many inputs came after the named ones.
	More int64
	// Reason is why the run failed, in the viewer's language when it
	// has a message; empty when it did not fail.
	Reason string
}

// inputName is one input's name, shortened for display, and in full.
type inputName struct {
	Short, Full string
}

// shortNameLength is the longest shortened name, in characters.
const shortNameLength = 40

// feedRuns adds the shortened input names to runs, and why a run
// failed said for a reader of lang.
func feedRuns(runs []feedadmin.Run, c *i18n.Catalog, lang string) []feedRun {
	out := make([]feedRun, len(runs))
	for i, r := range runs {
		out[i] = feedRun{Run: r, More: max(r.Inputs-int64(len(r.InputNames)), 0), Reason: r.Reason(c, lang)}
		for _, n := range r.InputNames {
			out[i].Names = append(out[i].Names, inputName{Short: shortInputName(n), Full: n})
		}
	}
	return out
}

// shortInputName shortens an input's name for a table cell: a URL to its
// host and last path element (without its query), a file path to its
// base name, and a last element still longer than shortNameLength
// characters in all to its start and end around "…", which tell files
// of one series apart.
func shortInputName(name string) string {
	prefix, base := "", name
	if u, err := url.Parse(name); err == nil && u.Scheme != "" && u.Host != "" {
		prefix, base = u.Host, ""
		if last := path.Base(u.Path); last != "." && last != "/" {
			prefix += "/"
			if strings.Trim(u.Path, "/") != last {
				prefix += "…/"
			}
			base = last
		}
	} else if i := strings.LastIndexAny(name, `/\`); i >= 0 && i < len(name)-1 {
		base = name[i+1:]
	}
	return prefix + middleCut(base, max(shortNameLength-utf8.RuneCountInString(prefix), shortNameLength/2))
}

// middleCut cuts s to limit characters, keeping its start and its end
// around "…".
func middleCut(s string, limit int) string {
	n := utf8.RuneCountInString(s)
	if n <= limit {
		return s
	}
	runes := []rune(s)
	head := limit/2 - 1
	return string(runes[:head]) + "…" + string(runes[n-(limit-head-1):])
}
