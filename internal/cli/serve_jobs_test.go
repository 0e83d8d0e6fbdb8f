package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// TestJobsManyFailures shows that any number of failing jobs ends serve's
// group: the first failure cancels the jobs still running and is the one
// wait returns, and no later failure blocks (an error channel of four
// served seven jobs before).
func TestJobsManyFailures(t *testing.T) {
	group, ctx := newJobs(context.Background())
	stopped := make(chan struct{})
	group.run("long", func(ctx context.Context) error {
		<-ctx.Done()
		close(stopped)
		return ctx.Err()
	})
	group.run("first", func(context.Context) error { return errors.New("broken") })
	// The group cancels its context once it has kept the first error.
	<-ctx.Done()
	for i := range 20 {
		group.run(fmt.Sprint("job ", i), func(context.Context) error { return fmt.Errorf("failure %d", i) })
	}
	done := make(chan error, 1)
	go func() { done <- group.wait() }()
	select {
	case err := <-done:
		var failed *jobError
		if !errors.As(err, &failed) || failed.name != "first" || failed.err.Error() != "broken" {
			t.Errorf("wait = %v, want the job first failing with broken", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wait blocked")
	}
	select {
	case <-stopped:
	default:
		t.Error("the long job was not cancelled")
	}
}

// TestJobsStopWithoutError shows that jobs ending because the context was
// cancelled (the signal that stops serve) are no failure.
func TestJobsStopWithoutError(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	group, _ := newJobs(parent)
	for i := range 3 {
		group.run(fmt.Sprint("job ", i), func(ctx context.Context) error {
			<-ctx.Done()
			return fmt.Errorf("job %d: %w", i, ctx.Err())
		})
	}
	group.run("clean", func(ctx context.Context) error { <-ctx.Done(); return nil })
	cancel()
	if err := group.wait(); err != nil {
		t.Fatalf("wait = %v, want nil: a cancelled job has only stopped", err)
	}
}

// TestJobFailuresInEveryLanguage: a job of serve's that fails while
// running is said in the operator's language, naming the job; every job
// this package starts has its name in the catalogue, in Dutch, French
// and German words of their own. The reason is the driver's or the
// system's, without the English context around it, or the error's own
// message when it has one.
func TestJobFailuresInEveryLanguage(t *testing.T) {
	c := i18n.Embedded()
	names := sourceMatches(t, `group\.run\("([^"]+)"`)
	if len(names) < 15 {
		t.Errorf("only %d jobs found: %v", len(names), names)
	}
	for name := range names {
		id := jobMessageID(name)
		if !c.Has(id) {
			t.Errorf("job %q: %s is not in the catalogue", name, id)
			continue
		}
		for _, lang := range []string{"nl", "fr", "de"} {
			if c.Text(lang, id) == c.Text("en", id) {
				t.Errorf("job %q: %s in %s is the English", name, id, lang)
			}
		}
	}

	driver := errors.New("SQL logic error: no such table: feed_overrides_version (1)")
	err := error(&jobError{name: "feeds", err: fmt.Errorf("sqlitestore: feed overrides version: %w", driver)})
	if want := `the job "feed changes from the console" stopped: ` + driver.Error(); err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	m, _ := i18n.Explain(err)
	for _, lang := range []string{"nl", "fr", "de"} {
		got := m.In(c, lang)
		if !strings.HasSuffix(got, driver.Error()) || strings.Contains(got, "sqlitestore") || strings.Contains(got, "stopped") || strings.Contains(got, "cli.job") {
			t.Errorf("%s: %q", lang, got)
		}
	}
	// An error that says itself is said in the job's sentence.
	err = &jobError{name: "mail in", err: fmt.Errorf("mail in: %w", &startError{message: i18n.M("cli.start.site", "x")})}
	if m, _ := i18n.Explain(err); !strings.Contains(m.In(c, "de"), c.T("de", "cli.start.site", "x")) {
		t.Errorf("in German %q does not say the error's own message", m.In(c, "de"))
	}
}
