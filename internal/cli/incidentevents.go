package cli

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/vigil-cert/vigil/internal/incident"
)

func init() { incidentCommands["events"] = incidentEvents }

// incidentEvents lists the events an incident holds, after adding those
// of --add.
func incidentEvents(ctx context.Context, c *cmdEnv, args []string) error {
	add := c.flags.String("add", "", "add these events first: their hashes, comma-separated")
	limit := c.flags.Int("limit", 50, "how many, the latest added first")
	asJSON := c.flags.Bool("json", false, "one JSON object a line")
	tag, _, err := c.incidentWords(args, 1, 1, "cli.incident.args.tag", "events")
	if err != nil {
		return err
	}
	if *limit < 1 || *limit > maxCLIList {
		return c.usageError("cli.incident.limit", maxCLIList)
	}
	a, inc, err := c.openIncident(ctx, tag)
	if err != nil {
		return err
	}
	defer a.Close()
	if *add != "" {
		svc := &incident.EventService{Service: a.incidentService(), Events: a.store, Cases: a.store}
		n, err := svc.AddEvents(ctx, incidentActor, inc.ID, strings.Split(*add, ","))
		if err != nil {
			return c.incRefusal(err)
		}
		fmt.Fprintln(c.stdout, c.t("cli.incident.events.added", inc.Tag.String(), n))
	}
	page, err := a.store.IncidentEvents(ctx, inc.ID, *limit, 0)
	if err != nil {
		return failedTo(err, "cli.incident.read", inc.Tag.String())
	}
	if *asJSON {
		return incJSONLines(c, eventLinksOut(page.Events))
	}
	if len(page.Events) == 0 {
		fmt.Fprintln(c.stdout, c.t("cli.incident.events.none"))
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, c.header("cli.incident.col.time", "cli.incident.col.type", "cli.incident.col.source", "cli.incident.col.organisations", "cli.incident.col.hash"))
	for _, l := range page.Events {
		at := "-"
		if !l.Time.IsZero() {
			at = l.Time.UTC().Format("2006-01-02 15:04")
		}
		source := cmp.Or(l.SourceIP, l.FQDN, l.URL)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", at, l.Type, shorten(source, 50), strings.Join(l.Organisations, ","), l.Hash)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, c.t("cli.incident.shown", len(page.Events), c.incTotal(page.Total, false)))
	return nil
}

// eventLinksOut are an incident's events as --json writes them, with the
// API's names.
func eventLinksOut(events []incident.EventLink) []map[string]any {
	out := make([]map[string]any, len(events))
	for i, l := range events {
		out[i] = map[string]any{"hash": l.Hash, "type": l.Type, "source_ip": l.SourceIP, "fqdn": l.FQDN, "url": l.URL,
			"organisations": l.Organisations, "added": l.Added.UTC(), "added_by": l.AddedBy}
		if !l.Time.IsZero() {
			out[i]["time"] = l.Time.UTC()
		}
	}
	return out
}
