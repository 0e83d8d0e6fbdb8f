package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/lookup"
)

// lookUpIncident is what Vigil knows of an incident's observables, as
// `vigil incident show` prints it (the constituency table built from the
// store, as the command has no pipeline's).
func (a *app) lookUpIncident(ctx context.Context, inc incident.Incident) (lookup.Result, error) {
	return (&lookup.Looker{Events: a.store, Orgs: a.store}).Look(ctx, inc.Observables)
}

// printKnown writes each observable with its owners, its events and when
// they were first and last seen.
func (c *cmdEnv) printKnown(res lookup.Result) {
	if len(res.Observables) == 0 {
		return
	}
	fmt.Fprintf(c.stdout, "%s:\n", c.t("cli.incident.col.observables"))
	for _, k := range res.Observables {
		line := "  " + string(k.Kind) + "  " + k.Value
		if !k.Looked {
			fmt.Fprintf(c.stdout, "%s  (%s)\n", line, c.t("cases.lookup.notlooked"))
			continue
		}
		var owners []string
		for _, o := range k.Owners {
			owners = append(owners, o.Handle+" ("+o.Value+")")
		}
		if len(owners) > 0 {
			line += "  " + c.t("cases.lookup.owner") + ": " + strings.Join(owners, ", ")
		}
		if k.Field != "" {
			n := c.tn("cases.lookup.events.count", k.Events)
			if k.MoreEvents() {
				n = c.t("cases.lookup.events.more", strconv.Itoa(lookup.EventCap))
			}
			line += "  " + n
		}
		if k.Events > 0 && !k.Undated {
			line += "  " + k.First.UTC().Format(time.RFC3339) + " – " + k.Last.UTC().Format(time.RFC3339)
		}
		fmt.Fprintln(c.stdout, line)
	}
	if res.Skipped > 0 {
		fmt.Fprintln(c.stdout, "  "+c.tn("cases.lookup.skipped", res.Skipped, lookup.MaxObservables))
	}
}
