package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/incident/lookup"
	"github.com/vigil-cert/vigil/internal/store"
)

var cmdIncident = &command{
	name:    "incident",
	summary: "list, show, open and work on incidents; list and log reports",
	usage: `list [--status S[,S…]] [--overdue] [--assignee NAME|none] [--limit N] [--json]
       | show TAG [--json]
       | new --report ID [--report ID…] | new --title TEXT [--kind KIND] [--severity S]
       | status TAG STATUS [--reason TEXT]
       | assign TAG USER|-
       | note TAG TEXT…
       | reports [--state new[,triaged…]] [--limit N] [--json]
       | report --kind KIND --text TEXT [--channel phone] [--name N] [--phone P] [--email E] [--concerned URL]
       | mail TAG --to ADDR[,ADDR…] --template NAME [--lang L] [--subject S] [TEXT…]
       | events TAG [--add HASH[,HASH…]] [--limit N] [--json]`,
	help: `The team's incidents and the reports that reached it, as the console and
the API show them, on the database directly. Changes are on the incident's
timeline and in the audit log, by "cli".

'list' lists incidents, the most recently changed first (--overdue: those
past their due time, not resolved). 'show TAG' shows an incident (2026-123)
with its reports, tasks, observables and timeline. 'new' opens an incident
from reports of the triage queue (--report, once a report or with commas),
or by hand with --title. 'status TAG STATUS' moves it through the workflow
(new, triage, in_progress, waiting, resolved, closed); most moves need
--reason. 'assign TAG USER' gives it to an analyst or an administrator
('-' to nobody). 'note TAG TEXT' writes a note on its timeline.

'reports' lists reports, the triage queue by default (--state new).
'report' logs a report, a phone call by default: its observables are found
in the text, and it is grouped with reports and incidents of the same URL,
domain or sender as every report is. Kinds: phishing, fake_website,
hacked_account, malware, fraud, data_leak, dos, vulnerability, other.

'mail TAG' writes to the incident's reporters or the contacts of the
organisations it concerns from a template (or the text given), signed with
the team's key and encrypted where a key is known, through the outbox.
'events TAG' lists the events the incident holds (--add: add them first).`,
	run:         runIncident,
	subcommands: true,
}

// incidentCommands are the words runIncident knows.
var incidentCommands = map[string]func(ctx context.Context, c *cmdEnv, args []string) error{
	"list":    listIncidents,
	"show":    showIncident,
	"new":     newIncident,
	"status":  incidentStatus,
	"assign":  assignIncident,
	"note":    noteIncident,
	"reports": listIncidentReports,
	"report":  logIncidentReport,
	"mail":    mailIncident,
}

// incidentActor is who the command line's changes to incidents are by,
// as the dead letters' are.
var incidentActor = incident.Actor{Name: "cli"}

func runIncident(ctx context.Context, c *cmdEnv, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return listIncidents(ctx, c, args)
	}
	sub, ok := incidentCommands[args[0]]
	if !ok {
		return c.usageError("cli.incident.unknown", args[0])
	}
	return sub(ctx, c, args[1:])
}

// incidentService is the case handling over the app's database.
func (a *app) incidentService() *incident.Service {
	return &incident.Service{Store: a.store, Audit: a.store}
}

// incidentTag reads an incident tag word.
func (c *cmdEnv) incidentTag(word string) (incident.Tag, error) {
	tag, err := incident.ParseTag(word)
	if err != nil {
		return tag, c.usageError("cli.incident.tag", word)
	}
	return tag, nil
}

// incidentWords reads a subcommand's words, the first of them an
// incident's tag: between least and most of them (most < 0: no bound),
// else the usage error usage with usageArgs.
func (c *cmdEnv) incidentWords(args []string, least, most int, usage string, usageArgs ...any) (incident.Tag, []string, error) {
	words, err := c.parseWords(args)
	if err != nil {
		return incident.Tag{}, nil, err
	}
	if len(words) < least || most >= 0 && len(words) > most {
		return incident.Tag{}, nil, c.usageError(usage, usageArgs...)
	}
	tag, err := c.incidentTag(words[0])
	return tag, words, err
}

// openIncident opens the database and reads the incident of tag.
func (c *cmdEnv) openIncident(ctx context.Context, tag incident.Tag) (*app, incident.Incident, error) {
	a, err := c.openExisting(ctx)
	if err != nil {
		return nil, incident.Incident{}, err
	}
	inc, err := a.store.GetIncidentByTag(ctx, tag)
	if errors.Is(err, store.ErrNotFound) {
		a.Close()
		return nil, inc, c.fail("cli.incident.notfound", tag.String())
	}
	if err != nil {
		a.Close()
		return nil, inc, err
	}
	return a, inc, nil
}

// incChoices splits a comma-separated flag value and checks each value.
func incChoices[T ~string](c *cmdEnv, flagName, v string, valid func(T) bool, all []T) ([]T, error) {
	if v == "" {
		return nil, nil
	}
	var out []T
	for _, s := range strings.Split(v, ",") {
		t := T(strings.TrimSpace(s))
		if !valid(t) {
			var names []string
			for _, a := range all {
				names = append(names, string(a))
			}
			return nil, c.usageError("cli.incident.flag.choice", flagName, strings.Join(names, ", "))
		}
		out = append(out, t)
	}
	return out, nil
}

// maxCLIList bounds --limit.
const maxCLIList = 1000

func listIncidents(ctx context.Context, c *cmdEnv, args []string) error {
	status := c.flags.String("status", "", "only these statuses, comma-separated (new, triage, in_progress, waiting, resolved, closed)")
	overdue := c.flags.Bool("overdue", false, "only incidents past their due time and not resolved")
	assignee := c.flags.String("assignee", "", "only this account's incidents (none: nobody's)")
	limit := c.flags.Int("limit", 50, "how many, the most recently changed first")
	asJSON := c.flags.Bool("json", false, "one JSON object a line")
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	if len(words) > 0 {
		return c.usageError("cli.incident.args.none", "list", words[0])
	}
	q := incident.IncidentQuery{Limit: *limit}
	if *limit < 1 || *limit > maxCLIList {
		return c.usageError("cli.incident.limit", maxCLIList)
	}
	if q.Statuses, err = incChoices(c, "status", *status, incident.Status.Valid, incident.Statuses); err != nil {
		return err
	}
	if *overdue {
		q.OverdueAt = time.Now()
	}
	a, err := c.openExisting(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	switch *assignee {
	case "":
	case "none", "-":
		q.Unassigned = true
	default:
		u, err := a.store.GetUserByName(ctx, *assignee)
		if err != nil {
			return c.fail("cli.incident.assign.user", *assignee)
		}
		q.AssigneeID = u.ID
	}
	page, err := a.store.ListIncidents(ctx, q)
	if err != nil {
		return failedTo(err, "cli.incident.list.read")
	}
	if *asJSON {
		now := time.Now()
		out := make([]map[string]any, len(page.Incidents))
		for i, inc := range page.Incidents {
			out[i] = incidentOut(inc, now)
		}
		return incJSONLines(c, out)
	}
	if len(page.Incidents) == 0 {
		fmt.Fprintln(c.stdout, c.t("cli.incident.none"))
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, c.header("cli.incident.col.tag", "cli.incident.col.status", "cli.incident.col.severity", "cli.incident.col.due", "cli.incident.col.assignee", "cli.incident.col.reports", "cli.incident.col.title"))
	for _, inc := range page.Incidents {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", inc.Tag, inc.Status, inc.Severity, c.incDue(inc, now),
			cmp.Or(inc.Assignee, "-"), inc.Reports, shorten(inc.Title, 70))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, c.t("cli.incident.shown", len(page.Incidents), c.incTotal(page.Total, page.More)))
	return nil
}

// incTotal is a list's count, "more than 10000" past the count limit.
func (c *cmdEnv) incTotal(n int, more bool) string {
	if more {
		return c.t("cli.incident.more", n)
	}
	return strconv.Itoa(n)
}

// incDue is an incident's due time, marked when overdue.
func (c *cmdEnv) incDue(inc incident.Incident, now time.Time) string {
	if inc.Due.IsZero() {
		return "-"
	}
	s := inc.Due.UTC().Format("2006-01-02 15:04")
	if inc.Overdue(now) {
		s += " " + c.t("cli.incident.overdue")
	}
	return s
}

// incJSONLines writes one JSON object a line.
func incJSONLines[T any](c *cmdEnv, values []T) error {
	enc := json.NewEncoder(c.stdout)
	for _, v := range values {
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return nil
}

func showIncident(ctx context.Context, c *cmdEnv, args []string) error {
	asJSON := c.flags.Bool("json", false, "the incident, its reports, tasks and timeline as one JSON object")
	tag, _, err := c.incidentWords(args, 1, 1, "cli.incident.args.tag", "show")
	if err != nil {
		return err
	}
	a, inc, err := c.openIncident(ctx, tag)
	if err != nil {
		return err
	}
	defer a.Close()
	reports, err := a.store.ListReports(ctx, incident.ReportQuery{IncidentID: inc.ID, Limit: maxCLIList})
	if err != nil {
		return failedTo(err, "cli.incident.read", inc.Tag.String())
	}
	tasks, err := a.store.Tasks(ctx, inc.ID)
	if err != nil {
		return failedTo(err, "cli.incident.read", inc.Tag.String())
	}
	timeline, err := a.store.Timeline(ctx, inc.ID)
	if err != nil {
		return failedTo(err, "cli.incident.read", inc.Tag.String())
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		out := incidentOut(inc, time.Now())
		out["linked_reports"], out["tasks"], out["timeline"] = reportsOut(reports.Reports), tasksOut(tasks), timelineOut(timeline)
		return enc.Encode(out)
	}
	known, err := a.lookUpIncident(ctx, inc)
	if err != nil {
		return failedTo(err, "cli.incident.lookup", inc.Tag.String())
	}
	c.printIncident(inc, reports.Reports, tasks, timeline, known)
	return nil
}

// printIncident writes an incident for a person to read.
func (c *cmdEnv) printIncident(inc incident.Incident, reports []incident.Report, tasks []incident.Task, timeline []incident.Entry, known lookup.Result) {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	field := func(id, value string) { fmt.Fprintf(tw, "%s\t%s\n", c.t("cli.incident.col."+id), value) }
	field("tag", inc.Tag.String())
	field("title", inc.Title)
	field("status", string(inc.Status)+incReason(inc.StatusReason))
	field("severity", string(inc.Severity))
	field("classification", inc.Taxonomy+" / "+inc.Type)
	field("tlp", string(inc.TLP)+"  PAP:"+string(inc.PAP))
	field("assignee", cmp.Or(inc.Assignee, c.t("cli.incident.nobody")))
	field("due", c.incDue(inc, time.Now()))
	field("created", inc.Created.UTC().Format(time.RFC3339))
	if inc.Impact != "" {
		field("impact", inc.Impact)
	}
	if len(inc.OrgIDs) > 0 {
		var ids []string
		for _, id := range inc.OrgIDs {
			ids = append(ids, strconv.FormatInt(id, 10))
		}
		field("organisations", strings.Join(ids, ", "))
	}
	field("reports", strconv.Itoa(inc.Reports))
	tw.Flush()
	for _, r := range reports {
		fmt.Fprintf(c.stdout, "  %s  %s  %s  %s\n", r.Tracking, r.Channel, r.Kind, shorten(incFirstLine(cmp.Or(r.Subject, r.Text)), 70))
	}
	c.printKnown(known)
	if len(tasks) > 0 {
		fmt.Fprintf(c.stdout, "%s:\n", c.t("cli.incident.col.tasks"))
		for _, t := range tasks {
			mark := "[ ]"
			if t.Done {
				mark = "[x]"
			}
			fmt.Fprintf(c.stdout, "  %s %d  %s\n", mark, t.ID, t.Title)
		}
	}
	fmt.Fprintf(c.stdout, "%s:\n", c.t("cli.incident.col.timeline"))
	for _, e := range timeline {
		line := string(e.Kind)
		switch {
		case e.Text != "":
			line += ": " + shorten(incFirstLine(e.Text), 80)
		case e.Kind == incident.EntryField:
			line += ": " + e.Details["field"] + " " + e.Details["from"] + " → " + e.Details["to"]
		case e.Details["reports"] != "" || e.Details["report"] != "":
			line += ": " + e.Details["reports"] + e.Details["report"]
		}
		fmt.Fprintf(c.stdout, "  %s  %s  %s\n", e.At.UTC().Format("2006-01-02 15:04"), cmp.Or(e.Actor, "vigil"), line)
	}
}

func incReason(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

func incFirstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// incReportIDs reads report ids given once a flag or with commas; what
// is no id is said in lang (the flag package passes its text on).
type incReportIDs struct {
	ids  []int64
	lang string
}

func (r *incReportIDs) String() string { return fmt.Sprint(r.ids) }

func (r *incReportIDs) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || id < 1 {
			return errors.New(i18n.Embedded().T(r.lang, "cli.incident.report.id", s))
		}
		r.ids = append(r.ids, id)
	}
	return nil
}

func newIncident(ctx context.Context, c *cmdEnv, args []string) error {
	reports := incReportIDs{lang: c.lang}
	c.flags.Var(&reports, "report", "a report of the triage queue to open the incident from (repeat or separate with commas)")
	title := c.flags.String("title", "", "the incident's title (required without --report)")
	kind := c.flags.String("kind", "", "what happened: phishing, fake_website, hacked_account, malware, fraud, data_leak, dos, vulnerability, other")
	severity := c.flags.String("severity", "", "low, medium, high or critical (by default the kind's)")
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	// "new --report 3 4 5": the words after the flag are more reports.
	for _, w := range words {
		if len(reports.ids) == 0 {
			return c.usageError("cli.incident.args.none", "new", w)
		}
		if err := reports.Set(w); err != nil {
			return fmt.Errorf("%v: %w", err, errUsage)
		}
	}
	ids := reports.ids
	if len(ids) == 0 && strings.TrimSpace(*title) == "" {
		return c.usageError("cli.incident.new.args")
	}
	draft := incident.Incident{Title: strings.TrimSpace(*title), Kind: incident.Kind(*kind), Severity: incident.Severity(*severity)}
	if *kind != "" && !draft.Kind.Valid() {
		return c.usageError("cli.incident.flag.choice", "kind", incNames(incident.Kinds))
	}
	if *severity != "" && !draft.Severity.Valid() {
		return c.usageError("cli.incident.flag.choice", "severity", "low, medium, high, critical")
	}
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if draft.Title == "" {
		r, err := a.store.GetReport(ctx, ids[0])
		if errors.Is(err, store.ErrNotFound) {
			return c.fail("cli.incident.report.notfound", ids[0])
		} else if err != nil {
			return failedTo(err, "cli.incident.report.read", ids[0])
		}
		draft.Title = a.incidentService().ReportTitle(c.lang, r)
	}
	inc, err := a.incidentService().CreateIncident(ctx, incidentActor, draft, ids)
	if err != nil {
		return c.incRefusal(err)
	}
	fmt.Fprintln(c.stdout, c.t("cli.incident.created", inc.Tag.String(), inc.Title))
	return nil
}

// incRefusal says an error of the incidents' rules in the command line's
// language; a missing report or incident as not found.
func (c *cmdEnv) incRefusal(err error) error {
	var refused *incident.InputError
	if errors.As(err, &refused) {
		return errors.New(c.in(refused.Message))
	}
	if errors.Is(err, store.ErrNotFound) {
		return c.fail("cli.incident.missing")
	}
	return failedTo(err, "cli.incident.failed")
}

func incidentStatus(ctx context.Context, c *cmdEnv, args []string) error {
	reason := c.flags.String("reason", "", "why (most moves need one; it goes on the timeline)")
	tag, words, err := c.incidentWords(args, 2, 2, "cli.incident.status.args", incNames(incident.Statuses))
	if err != nil {
		return err
	}
	to := incident.Status(words[1])
	if !to.Valid() {
		return c.usageError("cli.incident.status.bad", words[1], incNames(incident.Statuses))
	}
	a, inc, err := c.openIncident(ctx, tag)
	if err != nil {
		return err
	}
	defer a.Close()
	if inc, err = a.incidentService().Transition(ctx, incidentActor, inc.ID, to, *reason); err != nil {
		return c.incRefusal(err)
	}
	fmt.Fprintln(c.stdout, c.t("cli.incident.status.done", inc.Tag.String(), string(inc.Status)))
	return nil
}

func incNames[T ~string](all []T) string {
	var names []string
	for _, v := range all {
		names = append(names, string(v))
	}
	return strings.Join(names, ", ")
}

func assignIncident(ctx context.Context, c *cmdEnv, args []string) error {
	tag, words, err := c.incidentWords(args, 2, 2, "cli.incident.assign.args")
	if err != nil {
		return err
	}
	a, inc, err := c.openIncident(ctx, tag)
	if err != nil {
		return err
	}
	defer a.Close()
	var who auth.User
	if name := words[1]; name != "-" {
		who, err = a.store.GetUserByName(ctx, name)
		if errors.Is(err, store.ErrNotFound) || err == nil && (who.Disabled || !auth.Can(who.Role, auth.HandleIncidents)) {
			return c.fail("cli.incident.assign.user", name)
		} else if err != nil {
			return failedTo(err, "cli.user.read", name)
		}
	}
	if inc, err = a.incidentService().Assign(ctx, incidentActor, inc.ID, who.ID, who.Name); err != nil {
		return c.incRefusal(err)
	}
	if who.ID == 0 {
		fmt.Fprintln(c.stdout, c.t("cli.incident.unassigned", inc.Tag.String()))
	} else {
		fmt.Fprintln(c.stdout, c.t("cli.incident.assigned", inc.Tag.String(), who.Name))
	}
	return nil
}

func noteIncident(ctx context.Context, c *cmdEnv, args []string) error {
	tag, words, err := c.incidentWords(args, 2, -1, "cli.incident.note.args")
	if err != nil {
		return err
	}
	a, inc, err := c.openIncident(ctx, tag)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.incidentService().AddNote(ctx, incidentActor, inc.ID, strings.Join(words[1:], " ")); err != nil {
		return c.incRefusal(err)
	}
	fmt.Fprintln(c.stdout, c.t("cli.incident.noted", inc.Tag.String()))
	return nil
}

func listIncidentReports(ctx context.Context, c *cmdEnv, args []string) error {
	state := c.flags.String("state", "new", "only these states, comma-separated (new, triaged, linked, closed); all for every one")
	limit := c.flags.Int("limit", 50, "how many, the newest first")
	asJSON := c.flags.Bool("json", false, "one JSON object a line")
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	if len(words) > 0 {
		return c.usageError("cli.incident.args.none", "reports", words[0])
	}
	if *limit < 1 || *limit > maxCLIList {
		return c.usageError("cli.incident.limit", maxCLIList)
	}
	q := incident.ReportQuery{Limit: *limit}
	if *state != "all" {
		if q.States, err = incChoices(c, "state", *state, incident.ReportState.Valid, incident.ReportStates); err != nil {
			return err
		}
	}
	a, err := c.openExisting(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	page, err := a.store.ListReports(ctx, q)
	if err != nil {
		return failedTo(err, "cli.incident.reports.read")
	}
	if *asJSON {
		return incJSONLines(c, reportsOut(page.Reports))
	}
	if len(page.Reports) == 0 {
		fmt.Fprintln(c.stdout, c.t("cli.incident.reports.none"))
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, c.header("cli.incident.col.id", "cli.incident.col.tracking", "cli.incident.col.received", "cli.incident.col.channel", "cli.incident.col.kind", "cli.incident.col.state", "cli.incident.col.text"))
	for _, r := range page.Reports {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Tracking, r.Received.UTC().Format("2006-01-02 15:04"),
			r.Channel, r.Kind, r.State, shorten(incFirstLine(cmp.Or(r.Subject, r.Text)), 60))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, c.t("cli.incident.shown", len(page.Reports), c.incTotal(page.Total, page.More)))
	return nil
}

func logIncidentReport(ctx context.Context, c *cmdEnv, args []string) error {
	kind := c.flags.String("kind", "", "what happened (required): "+incNames(incident.Kinds))
	text := c.flags.String("text", "", "what the caller said (required)")
	channel := c.flags.String("channel", string(incident.ChannelPhone), "how it reached the team: phone, email, web, portal")
	name := c.flags.String("name", "", "the reporter's name")
	phone := c.flags.String("phone", "", "the reporter's phone number")
	email := c.flags.String("email", "", "the reporter's e-mail address")
	concerned := c.flags.String("concerned", "", "the URL or the sender the report is about")
	lang := c.flags.String("language", "", "the reporter's language, for replies (en, nl, fr, de)")
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	if len(words) > 0 {
		return c.usageError("cli.incident.args.none", "report", words[0])
	}
	if !incident.Kind(*kind).Valid() {
		return c.usageError("cli.incident.flag.choice", "kind", incNames(incident.Kinds))
	}
	if strings.TrimSpace(*text) == "" {
		return c.usageError("cli.incident.report.text")
	}
	if !incident.Channel(*channel).Valid() {
		return c.usageError("cli.incident.flag.choice", "channel", incNames(incident.Channels))
	}
	r := &incident.Report{Channel: incident.Channel(*channel), Kind: incident.Kind(*kind), Text: *text,
		Concerned: *concerned, Language: *lang, Reporter: incident.Reporter{Name: *name, Phone: *phone, Email: *email}}
	r.Observables = extract.Find(*concerned + "\n" + *text)
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	receipt, err := a.incidentService().Receive(ctx, r)
	if err != nil {
		return c.incRefusal(err)
	}
	_ = a.store.AddAudit(context.WithoutCancel(ctx), auth.AuditEntry{Time: time.Now(), Actor: "cli", Action: "report.create",
		Target: receipt.Tracking, Detail: string(r.Channel) + ", " + string(r.Kind)})
	fmt.Fprintln(c.stdout, c.t("cli.incident.logged", receipt.Tracking, receipt.ReportID))
	if !receipt.Tag.IsZero() {
		fmt.Fprintln(c.stdout, c.t("cli.incident.logged.linked", receipt.Tag.String()))
	}
	return nil
}
