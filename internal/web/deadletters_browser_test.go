package web

import (
	"bufio"
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/output"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

// ipPortParser reads "ip port" lines; a line it cannot read is rejected
// with its number.
type ipPortParser struct{}

func (ipPortParser) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	sc := bufio.NewScanner(in.Body)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		e := event.New(4)
		err := errors.New("want an IP address and a port")
		if len(f) == 2 {
			if err = e.Set("source.ip", f[0]); err == nil {
				err = e.Set("source.port", f[1])
			}
		}
		if err != nil {
			sink.Reject([]byte(sc.Text()), &pipeline.LineError{Line: n, Err: err})
			continue
		}
		e.SetTrusted("classification.type", "scanner")
		if err := sink.Event(e); err != nil {
			return err
		}
	}
	return sc.Err()
}

// TestBrowserDeadLetters works two dead letters in Chromium as an analyst
// would: discard one with a reason (confirmed), correct the other and
// re-run it through the real pipeline; the database is checked after.
func TestBrowserDeadLetters(t *testing.T) {
	st := openStore(t)
	addUser(t, st, "alice", auth.RoleAnalyst, "alice's long passphrase")
	runner := startScanRunner(t, st)
	junk, typo := deliverScanFileTwice(t, st, runner)

	cc := consoleConfig(t, st, "test")
	cc.Retry = runner.RetryDeadLetters
	srv := serveConsole(t, cc)
	tctx := startChromium(t, srv.URL+"/deadletters")
	s := &deadLetterSteps{ctx: tctx, st: st, junk: junk, typo: typo,
		junkID: strconv.FormatInt(junk.ID, 10), typoID: strconv.FormatInt(typo.ID, 10)}

	logIn(t, tctx, "alice", "alice's long passphrase", "deadletters")
	source := run(t, tctx, chromedp.Text(chromedp.CSS("#letter-"+s.typoID+" td.source")))
	if source != "scan-2026-12-03.txt, line 2" {
		t.Errorf("source of the letter of line 2 shown as %q", source)
	}
	screenshot(t, tctx, "deadletters-list")
	runSteps(t,
		browserStep{"discard with a reason", s.discard},
		browserStep{"a failed re-run says why", s.failedRerun},
		browserStep{"correct and re-run", s.correctAndRerun},
		browserStep{"the database after", s.checkDatabase},
	)
}

// startScanRunner starts a pipeline with one feed, scans, read by
// ipPortParser and stored in st; it works until the test ends.
func startScanRunner(t *testing.T, st *database.DB) *pipeline.Runner {
	t.Helper()
	out, err := output.NewStore(st)
	if err != nil {
		t.Fatal(err)
	}
	runner := pipeline.NewRunner(pipeline.RunnerConfig{
		Env:       pipeline.Env{Store: st, Now: time.Now},
		Transport: pipeline.NewLocal(2),
		Feeds:     []*pipeline.Feed{{Name: "scans", ParserID: "ip-port", Parser: ipPortParser{}}},
		Outputs:   []pipeline.Output{out}, BatchSize: 10, Workers: 1,
	})
	wctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go runner.Work(wctx)
	return runner
}

// deliverScanFileTwice delivers a file with one good line and two bad
// ones twice, and returns its two dead letters: the junk of line 3 and
// the typo of line 2.
func deliverScanFileTwice(t *testing.T, st *database.DB, runner *pipeline.Runner) (junk, typo store.DeadLetter) {
	t.Helper()
	ctx := context.Background()
	file := "192.0.2.1 22\n192.0.2.2 twenty-two\nnot a line\n"
	for range 2 { // the second time adds no letter
		if err := runner.Deliver(ctx, pipeline.Input{Feed: "scans", Name: "scan-2026-12-03.txt", Body: strings.NewReader(file)}); err != nil {
			t.Fatal(err)
		}
	}
	letters, err := st.ListDeadLetters(ctx, store.DeadLetterQuery{})
	if err != nil || len(letters) != 2 {
		t.Fatalf("%d letters after delivering the file twice, want 2 (%v)", len(letters), err)
	}
	return letters[0], letters[1] // newest first: line 3, then line 2
}

// deadLetterSteps is what the steps of TestBrowserDeadLetters share: the
// logged-in browser, the database and the two letters.
type deadLetterSteps struct {
	ctx            context.Context
	st             *database.DB
	junk, typo     store.DeadLetter
	junkID, typoID string
}

// discard discards the junk line: select it, give a reason, confirm.
func (s *deadLetterSteps) discard(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx,
		chromedp.Click(chromedp.ID("select-"+s.junkID)),
		chromedp.SendKeys(chromedp.ID("discard-reason"), "not a line of the report"),
		chromedp.Click(chromedp.ID("discard-confirm")),
		chromedp.Click(chromedp.ID("discard")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if err != nil {
		t.Fatalf("discard: %v", err)
	}
	if rows := run(t, tctx, chromedp.Nodes(chromedp.CSSAll("#deadletters tbody tr"))); len(rows) != 1 {
		t.Errorf("%d letters listed after the discard, want 1", len(rows))
	}
}

// failedRerun re-runs the typo as it is: that fails, and the list says
// why.
func (s *deadLetterSteps) failedRerun(t *testing.T) {
	tctx, typoID := s.ctx, s.typoID
	err := chromedp.Do(tctx,
		chromedp.Click(chromedp.ID("select-"+typoID)),
		chromedp.Click(chromedp.ID("retry")),
		chromedp.WaitVisible(chromedp.CSS("#letter-"+typoID+" .problem-text")),
	)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	why := run(t, tctx, chromedp.Text(chromedp.CSS("#letter-"+typoID+" .problem-text")))
	screenshot(t, tctx, "deadletters-failed-rerun")
	if !strings.Contains(why, "Last re-run failed") || !strings.Contains(why, "not a port number") || strings.Contains(why, "line 1") {
		t.Errorf("failed re-run shown as %q", why)
	}
}

// correctAndRerun corrects the typo on the letter's page and re-runs it.
func (s *deadLetterSteps) correctAndRerun(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx,
		chromedp.Click(chromedp.ID("open-"+s.typoID)),
		chromedp.WaitVisible(chromedp.ID("edit-input")),
	)
	if err != nil {
		t.Fatalf("open the letter: %v", err)
	}
	screenshot(t, tctx, "deadletter-page")
	err = chromedp.Do(tctx,
		chromedp.SetValue(chromedp.ID("edit-input"), "192.0.2.2 22"),
		chromedp.Click(chromedp.ID("edit-submit")),
		chromedp.WaitVisible(chromedp.ID("letter-edited")),
	)
	if err != nil {
		t.Fatalf("edit and re-run: %v", err)
	}
	state := run(t, tctx, chromedp.Text(chromedp.ID("letter-state")))
	notice := run(t, tctx, chromedp.Text(chromedp.CSS(".notice")))
	screenshot(t, tctx, "deadletter-rerun")
	if state != "re-run successfully" || !strings.Contains(notice, "became events") {
		t.Errorf("after the re-run: state %q, notice %q", state, notice)
	}
}

// checkDatabase checks what the steps left in the database: the discarded
// letter, the edited one, the event of the corrected line and the audit
// log.
func (s *deadLetterSteps) checkDatabase(t *testing.T) {
	st, ctx := s.st, context.Background()
	got, err := st.GetDeadLetter(ctx, s.junk.ID)
	if err != nil || !got.Discarded || got.DiscardedBy != "alice" || got.DiscardReason != "not a line of the report" {
		t.Errorf("discarded letter in the database: %+v, %v", got, err)
	}
	got, err = st.GetDeadLetter(ctx, s.typo.ID)
	if err != nil || !got.Retried || string(got.Edited) != "192.0.2.2 22" || string(got.Input) != "192.0.2.2 twenty-two" {
		t.Errorf("edited letter in the database: %+v, %v", got, err)
	}
	page, err := st.SearchEvents(ctx, store.EventQuery{IP: netip.MustParseAddr("192.0.2.2"), Limit: 10})
	if err != nil || len(page.Events) != 1 || page.Events[0].Event.Value("source.port") != "22" {
		t.Errorf("event of the corrected line: %+v, %v", page.Events, err)
	}
	entries, err := st.ListAudit(ctx, auth.AuditQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" "+e.Target)
	}
	if !strings.Contains(strings.Join(actions, "|"), "deadletter.discard deadletters "+s.junkID) ||
		!strings.Contains(strings.Join(actions, "|"), "deadletter.edit deadletters "+s.typoID) {
		t.Errorf("audit log %q", actions)
	}
}

// TestBrowserDeadLetterReasonsInFrench: an analyst who reads French sees
// why a line was refused in French, in the list and on the letter's
// page; a reason the parser gave without a message keeps its words,
// inside the French sentence around them.
func TestBrowserDeadLetterReasonsInFrench(t *testing.T) {
	st := openStore(t)
	u, err := auth.NewUser("chloe", "chloe@cert.example", auth.RoleAnalyst, "chloe's long passphrase", "fr")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	runner := startScanRunner(t, st)
	junk, typo := deliverScanFileTwice(t, st, runner)
	cc := consoleConfig(t, st, "test")
	cc.Retry = runner.RetryDeadLetters
	srv := serveConsole(t, cc)
	tctx := startChromium(t, srv.URL+"/deadletters")
	logIn(t, tctx, "chloe", "chloe's long passphrase", "deadletters")

	typoID, junkID := strconv.FormatInt(typo.ID, 10), strconv.FormatInt(junk.ID, 10)
	const typoFR = `ligne 2 : champ source.port : pas un numéro de port (0-65535) (valeur "twenty-two")`
	if typo.Error == typoFR || typo.Problem.IsZero() {
		t.Fatalf("letter of line 2 = %q, %v: want the English and a message", typo.Error, typo.Problem)
	}
	if got := run(t, tctx, chromedp.Text(chromedp.CSS("#letter-"+typoID+" td.reason"))); !strings.HasPrefix(got, typoFR) {
		t.Errorf("line 2's reason in the list: %q, want %q", got, typoFR)
	}
	if got := run(t, tctx, chromedp.Text(chromedp.CSS("#letter-"+junkID+" td.reason"))); !strings.HasPrefix(got, "ligne 3 : want an IP address and a port") {
		t.Errorf("line 3's reason in the list: %q", got)
	}
	// A re-run of line 2 as it is fails again, and says why in French.
	err = chromedp.Do(tctx,
		chromedp.Click(chromedp.ID("select-"+typoID)),
		chromedp.Click(chromedp.ID("retry")),
		chromedp.WaitVisible(chromedp.CSS("#letter-"+typoID+" .problem-text")),
	)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	why := run(t, tctx, chromedp.Text(chromedp.CSS("#letter-"+typoID+" .problem-text")))
	if !strings.HasPrefix(why, "Le dernier retraitement a échoué") || !strings.HasSuffix(why, `champ source.port : pas un numéro de port (0-65535) (valeur "twenty-two")`) {
		t.Errorf("the failed re-run shown as %q", why)
	}
	screenshot(t, tctx, "deadletters-list-fr")
	err = chromedp.Do(tctx,
		chromedp.Click(chromedp.ID("open-"+typoID)),
		chromedp.WaitVisible(chromedp.ID("letter-reason")),
	)
	if err != nil {
		t.Fatalf("open the letter: %v", err)
	}
	if got := run(t, tctx, chromedp.Text(chromedp.ID("letter-reason"))); got != typoFR {
		t.Errorf("line 2's reason on its page: %q, want %q", got, typoFR)
	}
	screenshot(t, tctx, "deadletter-fr")
}
