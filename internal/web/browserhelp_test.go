package web

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/console"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
)

// This file holds the set-up the browser tests share: a console served
// over a database, a log-in through the form, events in the database, and
// a way to run the steps of one browser session as named subtests.

// serveConsole serves the console configured by cc on a test server that
// closes with the test.
func serveConsole(t *testing.T, cc console.Config) *httptest.Server {
	t.Helper()
	h, err := New(Deps{Console: cc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// logIn fills in the login form the browser shows, submits it, and waits
// until the page the console leads to shows the element with the id ready.
func logIn(t *testing.T, ctx context.Context, name, password, ready string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID(ready)),
	)
	if err != nil {
		t.Fatalf("log in as %s: %v", name, err)
	}
}

// insertEvents stores events in st.
func insertEvents(t *testing.T, st *database.DB, events ...*event.Event) {
	t.Helper()
	if _, err := st.InsertEvents(context.Background(), events, nil); err != nil {
		t.Fatal(err)
	}
}

// browserStep is one named step of a browser session.
type browserStep struct {
	name string
	run  func(t *testing.T)
}

// runSteps runs the steps of one browser session in order, each as a
// subtest. Each step starts on the page the one before it left, so a step
// that stops (t.Fatal) ends the session; a step that only reports an
// error (t.Error) lets the next one run.
func runSteps(t *testing.T, steps ...browserStep) {
	t.Helper()
	for _, s := range steps {
		finished := false
		t.Run(s.name, func(t *testing.T) {
			s.run(t)
			finished = true
		})
		if !finished {
			return
		}
	}
}
