package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/export"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/savedsearch"
	"github.com/vigil-cert/vigil/internal/store"
)

var cmdEvents = &command{
	name:    "events",
	summary: "search stored events by IP, CIDR, ASN, domain, URL, hash, type, feed, TLP, time",
	usage:   "search [filters | --saved NAME [--user NAME]] [--sort COLUMN [--asc]] [--count | --group COLUMN] [--format table|csv|jsonl] | show HASH",
	help: `Filters combine (AND). IP, CIDR, ASN and FQDN match the source or the
destination; --fqdn matches the domain and its subdomains; --hash matches
any malware hash. Times are RFC 3339 or YYYY-MM-DD (UTC).

--saved runs a search saved in the console: its filters, its sort and
grouping (unless --sort or --group, or --count, say otherwise), and in
a table its columns; one shared with the team, or, with --user, that
account's own (or else one shared of that name).

As the console's table: --sort orders by source.ip, source.asn, type or
feed (the newest 10000 matches; time, newest first, by default), --asc
reverses it; --count prints how many events match (exact up to 10000,
then "more than 10000"); --group prints the count and the 25 largest
groups by source.ip, source.asn, org, type or feed instead of events.

Examples:
  vigil events search --cidr 192.0.2.0/24
  vigil events search --asn 64496 --type vulnerable-system --format csv > rdp.csv
  vigil events search --fqdn example.net --from 2026-11-01 --all --format jsonl
  vigil events search --saved "RDP scans" --format csv
  vigil events search --type scanner --group source.asn
  vigil events search --feed shadowserver --sort source.ip --asc
  vigil events show 3f2a…`,
	run:         runEvents,
	subcommands: true,
}

func runEvents(ctx context.Context, c *cmdEnv, args []string) error {
	if len(args) == 0 || (args[0] != "search" && args[0] != "show") {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return c.parse(args)
		}
		return c.usageError("cli.events.sub")
	}
	sub, args := args[0], args[1:]
	ip := c.flags.String("ip", "", "IP address (source or destination)")
	cidr := c.flags.String("cidr", "", "network, e.g. 192.0.2.0/24")
	asn := c.flags.String("asn", "", "AS number, e.g. 64496 or AS64496")
	fqdn := c.flags.String("fqdn", "", "domain (and its subdomains)")
	url := c.flags.String("url", "", "exact URL")
	hash := c.flags.String("hash", "", "malware hash (MD5, SHA-1 or SHA-256)")
	tax := c.flags.String("taxonomy", "", "classification.taxonomy")
	typ := c.flags.String("type", "", "classification.type")
	feed := c.flags.String("feed", "", "feed name")
	tlp := c.flags.String("tlp", "", "TLP label")
	from := c.flags.String("from", "", "time.source at or after")
	to := c.flags.String("to", "", "time.source before")
	org := c.flags.String("org", "", "constituent organisation (its short name)")
	limit := c.flags.Int("limit", 50, "page size")
	after := c.flags.String("cursor", "", "continue after this cursor (printed after a page)")
	all := c.flags.Bool("all", false, "every matching event, page after page")
	format := c.flags.String("format", "table", "table, csv or jsonl")
	saved := c.flags.String("saved", "", "run the saved search of this name instead of filters")
	owner := c.flags.String("user", "", "with --saved: the account whose own saved search to run")
	sortBy := c.flags.String("sort", "", "order by source.ip, source.asn, type or feed (default time)")
	asc := c.flags.Bool("asc", false, "oldest or smallest first")
	count := c.flags.Bool("count", false, "print how many events match, not the events")
	group := c.flags.String("group", "", "print the largest groups by source.ip, source.asn, org, type or feed")
	if err := c.parse(args); err != nil {
		return err
	}
	if k := store.SortKey(*sortBy); !store.ValidSort(k) {
		return c.usageError("cli.events.sort", *sortBy)
	}
	if *group != "" && !store.ValidGroup(store.GroupKey(*group)) {
		return c.usageError("cli.events.group", *group)
	}
	a, err := c.openExisting(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if sub == "show" {
		return showEvent(ctx, c, a.store)
	}
	q := store.EventQuery{Limit: *limit, After: *after}
	filters := map[string]*string{"ip": ip, "cidr": cidr, "asn": asn, "fqdn": fqdn, "url": url, "hash": hash,
		"taxonomy": tax, "type": typ, "feed": feed, "tlp": tlp, "from": from, "to": to, "org": org}
	var columns []string
	if *saved != "" || *owner != "" {
		s, err := c.savedFilters(ctx, a.store, *saved, *owner, filters)
		if err != nil {
			return err
		}
		sort, dir, by := savedView(s)
		if *sortBy == "" {
			*sortBy, *asc = sort, *asc || dir
		}
		if *group == "" && !*count {
			*group = by
		}
		columns = s.Columns
	}
	for _, name := range store.Filters {
		if err := q.SetFilter(name, *filters[name]); err != nil {
			var fe *store.FilterError
			if errors.As(err, &fe) {
				return fmt.Errorf("--%s %q: %s", name, *filters[name], c.in(fe.Message))
			}
			return err
		}
	}
	if *count || *group != "" {
		return eventCounts(ctx, c, a.store, q, store.GroupKey(*group))
	}
	if k := store.SortKey(*sortBy); k != store.SortTime {
		q.Sort = k
	}
	q.Ascending = *asc
	var events export.Events
	var next string
	if *all {
		events = export.Search(ctx, a.store, q)
	} else {
		page, err := a.store.SearchEvents(ctx, q)
		if err != nil {
			return failedTo(err, "cli.events.search.failed")
		}
		events, next = export.Slice(page.Events), page.Next
	}
	if err := writeEvents(c, events, *format, columns); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintln(c.stderr, c.t("cli.events.more", next))
	}
	return nil
}

// showEvent prints the one event named by the command's argument, field
// by field.
func showEvent(ctx context.Context, c *cmdEnv, st *database.DB) error {
	if c.flags.NArg() != 1 {
		return c.usageError("cli.events.show.single")
	}
	h, ok := event.ParseHash(c.flags.Arg(0))
	if !ok {
		return c.fail("cli.events.hash", c.flags.Arg(0))
	}
	se, err := st.GetEvent(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return c.fail("cli.events.notfound", h.String())
	}
	if err != nil {
		return failedTo(err, "cli.events.read", h.String())
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\n%s\t%s\n", c.t("cli.event.hash"), se.Hash, c.t("cli.event.stored"), se.Stored.UTC().Format(time.RFC3339))
	for _, f := range se.Event.Fields() {
		v := f.Value
		if f.Key == "raw" {
			v = strconv.Quote(string(se.Event.Raw()))
		}
		fmt.Fprintf(tw, "%s\t%s\n", f.Key, v)
	}
	return tw.Flush()
}

// writeEvents writes events to the command's output in format; a table
// shows columns (a saved search's) between the time and the hash, when
// there are some.
func writeEvents(c *cmdEnv, events export.Events, format string, columns []string) error {
	switch format {
	case "table":
		var opts export.TableOptions
		if len(columns) > 0 {
			opts.Columns = append(append([]string{"time.source"}, columns...), export.HashColumn)
		}
		return export.WriteTable(c.stdout, events, opts)
	case "csv":
		return export.WriteCSV(c.stdout, events, export.CSVOptions{})
	case "jsonl":
		return export.WriteJSONLines(c.stdout, events)
	}
	return c.usageError("cli.flag.format.got", "table, csv, jsonl", format)
}

// savedFilters fills filters in from the saved search name, as the
// console keeps it, and returns the search: one shared with the team, or
// the own one of the account owner when it is given. Filters given as
// flags too are refused: which would win is not obvious.
func (c *cmdEnv) savedFilters(ctx context.Context, st *database.DB, name, owner string, filters map[string]*string) (savedsearch.Search, error) {
	if name == "" {
		return savedsearch.Search{}, c.usageError("cli.events.saved.user")
	}
	for flag, v := range filters {
		if *v != "" {
			return savedsearch.Search{}, c.usageError("cli.events.saved.filters", flag)
		}
	}
	viewer := savedsearch.Viewer{Team: true}
	if owner != "" {
		u, err := st.GetUserByName(ctx, owner)
		if errors.Is(err, store.ErrNotFound) {
			return savedsearch.Search{}, c.fail("cli.user.notfound", owner)
		}
		if err != nil {
			return savedsearch.Search{}, failedTo(err, "cli.user.read", owner)
		}
		viewer = savedsearch.Viewer{UserID: u.ID, Team: u.Role != auth.RoleConstituent}
	}
	list, err := st.ListSavedSearches(ctx, viewer.UserID, viewer.Team)
	if err != nil {
		return savedsearch.Search{}, failedTo(err, "cli.events.saved.read")
	}
	s, err := savedsearch.Find(list, viewer, name)
	if err != nil {
		if m, ok := i18n.Explain(err); ok && !errors.Is(err, store.ErrNotFound) {
			return s, errors.New(c.in(m) + "; " + c.t("cli.events.saved.owner"))
		}
		return s, err
	}
	values, err := url.ParseQuery(s.Query)
	if err != nil {
		return s, failedTo(err, "cli.events.saved.query", name)
	}
	for filter, v := range filters {
		*v = values.Get(filter)
	}
	return s, nil
}

// savedView is the sort, its direction (ascending) and the grouping
// kept in a saved search's query, as the console's table shows it.
func savedView(s savedsearch.Search) (sort string, ascending bool, group string) {
	values, _ := url.ParseQuery(s.Query)
	return values.Get("sort"), values.Get("dir") == "asc", values.Get("group")
}

// eventCounter is what eventCounts reads of the store.
type eventCounter interface {
	CountMatches(ctx context.Context, q store.EventQuery, bound int) (int, error)
	GroupEvents(ctx context.Context, q store.EventQuery, by store.GroupKey, top int) ([]store.GroupCount, error)
}

// eventCounts prints how many events q matches, as the console's table
// counts (exact up to store.SearchWindow), and with by its largest groups
// of the newest store.SearchWindow matches.
func eventCounts(ctx context.Context, c *cmdEnv, st eventCounter, q store.EventQuery, by store.GroupKey) error {
	q.Limit, q.After = 0, ""
	n, err := st.CountMatches(ctx, q, store.SearchWindow)
	if err != nil {
		return failedTo(err, "cli.events.search.failed")
	}
	if n > store.SearchWindow {
		fmt.Fprintln(c.stdout, c.tn("cli.events.count.more", store.SearchWindow))
	} else {
		fmt.Fprintln(c.stdout, c.tn("cli.events.count", n))
	}
	if by == "" {
		return nil
	}
	groups, err := st.GroupEvents(ctx, q, by, 25)
	if err != nil {
		return failedTo(err, "cli.events.search.failed")
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\n", strings.ToUpper(string(by)), c.header("cli.column.events"))
	for _, g := range groups {
		v := g.Value
		if v == "" {
			v = c.t("cli.events.group.none")
		}
		fmt.Fprintf(tw, "%s\t%d\n", v, g.Count)
	}
	return tw.Flush()
}
