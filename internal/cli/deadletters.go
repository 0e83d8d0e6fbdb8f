package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

var cmdDeadLetters = &command{
	name:    "deadletters",
	summary: "list input that could not become events, show, edit, re-run or discard it",
	usage: `[list] [--feed NAME] [--state pending|discarded|all] [--format table|jsonl]
       | show ID [--format text|json]
       | retry ID... | retry --feed NAME
       | edit ID FILE|-
       | discard --reason TEXT ID...`,
	help: `Every line a parser could not read and every event that failed validation
is kept with its feed, its source (file name or URL), its line, the input,
the reason and the time; the same line of the same source is kept once.

'list' shows the pending letters (--state discarded or all for others).
'show ID' shows exactly that letter. After fixing a parser or its options,
'retry ID…' runs those letters through their feed's parser again, and
'retry --feed NAME' all pending letters of a feed; letters that now
succeed are marked, those that fail stay pending with the new reason.
'edit ID FILE' replaces the letter's input by the file's content (- reads
standard input) and re-runs it. 'discard --reason TEXT ID…' sets letters
aside for good; the reason goes to the audit log.`,
	run:         runDeadLetters,
	subcommands: true,
}

// deadLetterCommands are the words runDeadLetters knows.
var deadLetterCommands = map[string]func(ctx context.Context, c *cmdEnv, args []string) error{
	"list":    listDeadLetters,
	"show":    showDeadLetter,
	"retry":   retryDeadLetters,
	"edit":    editDeadLetter,
	"discard": discardDeadLetters,
}

func runDeadLetters(ctx context.Context, c *cmdEnv, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return listDeadLetters(ctx, c, args)
	}
	sub, ok := deadLetterCommands[args[0]]
	if !ok {
		return c.usageError("cli.deadletters.unknown", args[0])
	}
	return sub(ctx, c, args[1:])
}

// parseWords parses the flags of a subcommand wherever they stand among
// its words ("show 3 --data DIR" as well as "show --data DIR 3") and
// returns the words; "--" ends the flags.
func (c *cmdEnv) parseWords(args []string) ([]string, error) {
	var words []string
	for {
		if err := c.parse(args); err != nil {
			return nil, err
		}
		rest := c.flags.Args()
		if len(rest) == 0 {
			return words, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(words, rest...), nil
		}
		words, args = append(words, rest[0]), rest[1:]
	}
}

// letterIDs parses the ids of a subcommand: positive integers, at least one.
func (c *cmdEnv) letterIDs(words []string, what string) ([]int64, error) {
	if len(words) == 0 {
		return nil, c.usageError("cli.deadletters.noids", what)
	}
	ids := make([]int64, 0, len(words))
	for _, w := range words {
		id, err := strconv.ParseInt(w, 10, 64)
		if err != nil || id < 1 {
			return nil, c.usageError("cli.deadletters.badid", w)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// sourceOf names where a letter came from: "file:line", or what is known.
func sourceOf(dl store.DeadLetter) string {
	switch {
	case dl.Source == "" && dl.Line == 0:
		return "-"
	case dl.Line == 0:
		return dl.Source
	}
	return fmt.Sprintf("%s:%d", dl.Source, dl.Line)
}

// letterJSON is dl for programs, the same in every language: its error
// is the reason in English.
func letterJSON(dl store.DeadLetter) map[string]any {
	out := map[string]any{"id": dl.ID, "feed": dl.Feed, "parser": dl.Parser, "source": dl.Source, "line": dl.Line,
		"time": dl.Time.UTC().Format(time.RFC3339), "error": dl.Error, "input": string(dl.Input),
		"state": dl.State(), "retried": dl.Retried}
	if dl.Edited != nil {
		out["edited"] = string(dl.Edited)
	}
	if dl.RetryError != "" {
		out["retry_error"] = dl.RetryError
		out["retry_time"] = dl.RetryTime.UTC().Format(time.RFC3339)
	}
	if dl.Discarded {
		out["discarded_by"], out["discard_reason"] = dl.DiscardedBy, dl.DiscardReason
	}
	return out
}

func listDeadLetters(ctx context.Context, c *cmdEnv, args []string) error {
	feed := c.flags.String("feed", "", "only this feed")
	format := c.flags.String("format", "table", "table or jsonl")
	limit := c.flags.Int("limit", 100, "how many, newest first")
	state := c.flags.String("state", "pending", "pending, discarded (with the pending ones) or all (re-run ones too)")
	all := c.flags.Bool("all", false, "the same as --state all")
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	if len(words) > 0 {
		return c.usageError("cli.deadletters.list.words", words[0])
	}
	if *format != "table" && *format != "jsonl" {
		return c.usageError("cli.flag.format", "table, jsonl")
	}
	if *limit < 1 {
		return c.usageError("cli.flag.limit")
	}
	q := store.DeadLetterQuery{Feed: *feed, Limit: *limit}
	switch {
	case *all || *state == "all":
		q.IncludeRetried, q.IncludeDiscarded = true, true
	case *state == "discarded":
		q.IncludeDiscarded = true
	case *state != "pending":
		return c.usageError("cli.deadletters.state")
	}
	a, err := c.openExisting(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	letters, err := a.store.ListDeadLetters(ctx, q)
	if err != nil {
		return failedTo(err, "cli.deadletters.read")
	}
	if *format == "jsonl" {
		enc := json.NewEncoder(c.stdout)
		for _, dl := range letters {
			if err := enc.Encode(letterJSON(dl)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, c.header("cli.column.id", "cli.column.time", "cli.column.feed", "cli.column.source", "cli.column.state", "cli.column.error", "cli.column.input"))
	for _, dl := range letters {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", dl.ID, dl.Time.UTC().Format(time.RFC3339), dl.Feed,
			shorten(sourceOf(dl), 50), c.letterState(dl), shorten(dl.Reason(i18n.Embedded(), c.lang), 70), shorten(strconv.Quote(string(dl.Input)), 60))
	}
	return tw.Flush()
}

func showDeadLetter(ctx context.Context, c *cmdEnv, args []string) error {
	format := c.flags.String("format", "text", "text or json")
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	if len(words) != 1 {
		return c.usageError("cli.deadletters.show.single")
	}
	ids, err := c.letterIDs(words, "show")
	if err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return c.usageError("cli.flag.format", "text, json")
	}
	a, err := c.openExisting(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	dl, err := a.store.GetDeadLetter(ctx, ids[0])
	if errors.Is(err, store.ErrNotFound) {
		return c.fail("cli.deadletters.notfound", ids[0])
	}
	if err != nil {
		return failedTo(err, "cli.deadletters.show.read", ids[0])
	}
	if *format == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(letterJSON(dl))
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%d\n%s\t%s\n%s\t%s\n%s\t%s\n%s\t%s\n%s\t%s\n%s\t%d\n%s\t%s\n",
		c.t("cli.deadletter.id"), dl.ID, c.t("cli.deadletter.state"), c.letterState(dl),
		c.t("cli.deadletter.time"), dl.Time.UTC().Format(time.RFC3339), c.t("cli.deadletter.feed"), dl.Feed,
		c.t("cli.deadletter.parser"), dl.Parser, c.t("cli.deadletter.source"), dl.Source,
		c.t("cli.deadletter.line"), dl.Line, c.t("cli.deadletter.error"), dl.Reason(i18n.Embedded(), c.lang))
	if dl.RetryError != "" {
		fmt.Fprintf(tw, "%s\t%s: %s\n", c.t("cli.deadletter.lastretry"), dl.RetryTime.UTC().Format(time.RFC3339), dl.RetryReason(i18n.Embedded(), c.lang))
	}
	if dl.Discarded {
		fmt.Fprintf(tw, "%s\t%s\n%s\t%s\n", c.t("cli.deadletter.discardedby"), dl.DiscardedBy, c.t("cli.deadletter.reason"), dl.DiscardReason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s\n%s\n", c.t("cli.deadletter.input"), strconv.Quote(string(dl.Input)))
	if dl.Edited != nil {
		fmt.Fprintf(c.stdout, "%s\n%s\n", c.t("cli.deadletter.edited"), strconv.Quote(string(dl.Edited)))
	}
	return nil
}

func retryDeadLetters(ctx context.Context, c *cmdEnv, args []string) error {
	feed := c.flags.String("feed", "", "re-run every pending letter of this feed (the newest "+strconv.Itoa(pipeline.MaxRetryFeed)+")")
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	var ids []int64
	if *feed != "" {
		if len(words) > 0 {
			return c.usageError("cli.deadletters.retry.both")
		}
	} else if ids, err = c.letterIDs(words, "retry"); err != nil {
		return err
	}
	a, err := c.openExisting(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if *feed != "" {
		if ids, err = pipeline.PendingDeadLetterIDs(ctx, a.store, *feed, pipeline.MaxRetryFeed); err != nil {
			return failedTo(err, "cli.deadletters.read")
		}
		if len(ids) == 0 {
			fmt.Fprintln(c.stdout, c.t("cli.deadletters.retry.none", *feed))
			return nil
		}
	}
	return a.retryAndReport(ctx, c, ids, "deadletter.retry")
}

// retryAndReport re-runs ids, audits it, and prints what became of each.
// It fails (exit 1) when any letter still fails or is not pending.
func (a *app) retryAndReport(ctx context.Context, c *cmdEnv, ids []int64, action string) error {
	runner, err := a.buildRunner(ctx, pipeline.NewLocal(4), nil, false)
	if err != nil {
		return err
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go runner.Work(wctx)
	results, err := runner.RetryDeadLettersReport(ctx, ids)
	ok := 0
	for _, r := range results {
		if r.OK {
			ok++
			fmt.Fprintf(c.stdout, "%d: %s\n", r.ID, c.t("cli.deadletters.retry.ok"))
		} else {
			fmt.Fprintf(c.stdout, "%d: %s\n", r.ID, c.t("cli.deadletters.retry.fails", r.Reason(i18n.Embedded(), c.lang)))
		}
	}
	detail := fmt.Sprintf("%d of %d re-run successfully", ok, len(ids))
	if err != nil {
		detail += fmt.Sprintf("; failed: %v", err)
	}
	_ = a.store.AddAudit(context.WithoutCancel(ctx), auth.AuditEntry{Time: time.Now(), Actor: "cli", Action: action,
		Target: auth.TargetIDs("deadletters", ids), Detail: detail})
	if err != nil {
		return failedTo(err, "cli.deadletters.retry.error")
	}
	fmt.Fprintln(c.stdout, c.t("cli.deadletters.retry.summary", ok, len(ids)))
	if skipped := len(ids) - len(results); skipped > 0 {
		fmt.Fprintln(c.stdout, c.tn("cli.deadletters.notpending", skipped))
	}
	if ok < len(ids) {
		return c.fail("cli.deadletters.retry.failed", len(ids)-ok, len(ids))
	}
	return nil
}

func editDeadLetter(ctx context.Context, c *cmdEnv, args []string) error {
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	if len(words) != 2 {
		return c.usageError("cli.deadletters.edit.words")
	}
	ids, err := c.letterIDs(words[:1], "edit")
	if err != nil {
		return err
	}
	var in io.Reader = c.stdin
	if name := words[1]; name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return &fileError{name, err}
		}
		defer f.Close()
		in = f
	}
	input, err := io.ReadAll(io.LimitReader(in, store.MaxEditedDeadLetter+1))
	if err != nil {
		return &fileError{words[1], err}
	}
	if len(input) > store.MaxEditedDeadLetter {
		return c.fail("cli.deadletters.edit.long", store.MaxEditedDeadLetter)
	}
	input = []byte(strings.TrimSuffix(string(input), "\n"))
	a, err := c.openExisting(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.store.EditDeadLetter(ctx, ids[0], input); errors.Is(err, store.ErrNotFound) {
		return c.fail("cli.deadletters.notpending.id", ids[0])
	} else if err != nil {
		return failedTo(err, "cli.deadletters.edit.failed", ids[0])
	}
	return a.retryAndReport(ctx, c, ids, "deadletter.edit")
}

func discardDeadLetters(ctx context.Context, c *cmdEnv, args []string) error {
	reason := c.flags.String("reason", "", "why the letters need no re-run (required; kept in the audit log)")
	words, err := c.parseWords(args)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return c.usageError("cli.deadletters.discard.reason")
	}
	ids, err := c.letterIDs(words, "discard")
	if err != nil {
		return err
	}
	a, err := c.openExisting(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.store.DiscardDeadLetters(ctx, ids, "cli", *reason)
	if err != nil {
		return failedTo(err, "cli.deadletters.discard.error")
	}
	if err := a.store.AddAudit(ctx, auth.AuditEntry{Time: time.Now(), Actor: "cli", Action: "deadletter.discard",
		Target: auth.TargetIDs("deadletters", ids), Detail: fmt.Sprintf("%d discarded: %s", n, *reason)}); err != nil {
		return failedTo(err, "cli.deadletters.discard.audit")
	}
	fmt.Fprintln(c.stdout, c.t("cli.deadletters.discard.summary", n, len(ids)))
	if int(n) < len(ids) {
		return c.fail("cli.deadletters.discard.failed", len(ids)-int(n), len(ids))
	}
	return nil
}

// letterState is the letter's state in the command's language.
func (c *cmdEnv) letterState(dl store.DeadLetter) string {
	switch dl.State() {
	case store.DeadLetterPending:
		return c.t("deadletters.state.pending")
	case store.DeadLetterRetried:
		return c.t("deadletters.state.retried")
	case store.DeadLetterDiscarded:
		return c.t("deadletters.state.discarded")
	}
	return string(dl.State())
}
