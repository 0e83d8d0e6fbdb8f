package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gomail "github.com/emersion/go-message/mail"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
)

// TestBrowserNewsletterLinks subscribes in headless Chromium on the Dutch
// form, has the outbox deliver the confirmation to a local SMTP server,
// follows its link and presses the page's button, mails a warning through the same server, and follows
// the unsubscribe link of that mail to its button.
func TestBrowserNewsletterLinks(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	secret, err := newsletter.LoadSecret(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	mails, err := newsletter.NewMails(cat, &mail.Address{Name: "Test CERT", Address: "news@cert.example"}, "", "", secret)
	if err != nil {
		t.Fatal(err)
	}
	svc := &newsletter.Service{Store: st.Newsletter, Mails: mails, Config: newsletter.DefaultConfig()}
	cc := consoleConfig(t, st, "test")
	cc.Newsletter = svc
	srv := serveConsole(t, cc)
	mails.BaseURL = srv.URL

	box, err := demo.StartMailbox(filepath.Join(t.TempDir(), "mailbox"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	relayCfg := outbox.DefaultConfig()
	relayCfg.Host, relayCfg.Port, relayCfg.TLS = "127.0.0.1", box.Addr().Port, outbox.TLSNone
	sender, err := outbox.NewSender(relayCfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}

	tctx := startChromium(t, srv.URL+"/newsletter/nl")
	if err := chromedp.Do(tctx,
		chromedp.WaitVisible(chromedp.ID("address")),
		chromedp.SendKeys(chromedp.ID("address"), "lezer@example.org"),
		chromedp.Click(chromedp.ID("warnings-yes")),
		chromedp.Click(chromedp.ID("subscribe")),
		chromedp.WaitVisible(chromedp.ID("result")),
	); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	screenshot(t, tctx, "newsletter-done")
	if text := run(t, tctx, chromedp.Text(chromedp.ID("result"))); !strings.Contains(text, "bevestigingslink") {
		t.Errorf("after subscribing: %q", text)
	}

	// The outbox delivers the confirmation to the local SMTP server.
	if err := sender.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	confirm := linkOf(t, mailboxMessages(t, box.Dir()), 1, "confirm")
	// The link shows a button and confirms nothing: a mail gateway that
	// fetches it does not subscribe anyone.
	if err := chromedp.Do(tctx, chromedp.Navigate(confirm), chromedp.WaitVisible(chromedp.ID("confirm"))); err != nil {
		t.Fatalf("confirmation page: %v", err)
	}
	screenshot(t, tctx, "newsletter-confirm")
	axeCheck(t, tctx, axeSource(t), "/newsletter/confirm", "nl")
	if subs, _, err := st.Newsletter.ListSubscribers(ctx, newsletter.Query{}); err != nil || len(subs) != 1 || subs[0].Status != newsletter.StatusPending {
		t.Fatalf("after opening the link: %+v, %v; want one pending subscriber", subs, err)
	}
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("result"))); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if text := run(t, tctx, chromedp.Text(chromedp.ID("result"))); !strings.Contains(text, "bevestigd") {
		t.Errorf("after the confirmation link: %q", text)
	}

	// A published warning, mailed at once through the same server.
	warning := publication.Publication{ID: 1, Ident: "VIGIL-2026-0007", Kind: publication.KindWarning, Status: publication.StatusPublished, Revision: 1,
		Content: publication.Content{Severity: "critical", TLP: publication.TLPClear, Texts: []publication.Text{
			{Lang: "en", Title: "Exploited now"}, {Lang: "nl", Title: "Nu misbruikt", Summary: "Patch meteen."}}}}
	if _, err := (&newsletter.Channel{Store: st.Newsletter}).Send(ctx, warning, publication.Delivery{Revision: 1}); err != nil {
		t.Fatal(err)
	}
	mailer := &newsletter.Mailer{Store: st.Newsletter, Mails: mails, Relay: sender}
	if err := mailer.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	unsubscribe := linkOf(t, mailboxMessages(t, box.Dir()), 2, "unsubscribe")
	if err := chromedp.Do(tctx, chromedp.Navigate(unsubscribe), chromedp.WaitVisible(chromedp.ID("unsubscribe"))); err != nil {
		t.Fatalf("unsubscribe page: %v", err)
	}
	screenshot(t, tctx, "newsletter-unsubscribe")
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.ID("unsubscribe")), chromedp.WaitVisible(chromedp.ID("result"))); err != nil {
		t.Fatalf("unsubscribe: %v", err)
	}
	if text := run(t, tctx, chromedp.Text(chromedp.ID("result"))); !strings.Contains(text, "geen nieuwsbrieven meer") {
		t.Errorf("after unsubscribing: %q", text)
	}
	subs, _, err := st.Newsletter.ListSubscribers(ctx, newsletter.Query{})
	if err != nil || len(subs) != 1 || subs[0].Status != newsletter.StatusUnsubscribed || subs[0].Lang != "nl" || !subs[0].Warnings {
		t.Errorf("subscribers = %+v, %v", subs, err)
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/newsletter/nl"), chromedp.WaitVisible(chromedp.ID("address"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, tctx, "newsletter-form")

	// The team sees the subscriber and the warning's progress.
	addUser(t, st, "pia", auth.RolePublisher, "pia's long passphrase")
	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/newsletter/subscribers")); err != nil {
		t.Fatal(err)
	}
	logIn(t, tctx, "pia", "pia's long passphrase", "counts")
	screenshot(t, tctx, "newsletter-subscribers")
	if text := run(t, tctx, chromedp.Text(chromedp.ID("issues"))); !strings.Contains(text, "VIGIL-2026-0007") {
		t.Errorf("the issues' progress: %q", text)
	}
}

// mailboxMessages returns the mails the mailbox holds, in the order
// received.
func mailboxMessages(t *testing.T, dir string) [][]byte {
	t.Helper()
	var files []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		files, _ = filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) > 0 || time.Now().After(deadline) {
			break
		}
	}
	sort.Strings(files)
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

var newsletterLink = regexp.MustCompile(`href="([^"]+/newsletter/(confirm|unsubscribe)\?t=[^"]+)"`)

// linkOf returns the link of kind in the HTML part of the n-th mail
// (from 1), as a mail program would open it.
func linkOf(t *testing.T, msgs [][]byte, n int, kind string) string {
	t.Helper()
	if len(msgs) != n {
		t.Fatalf("the mailbox holds %d mails, want %d", len(msgs), n)
	}
	r, err := gomail.CreateReader(bytes.NewReader(msgs[n-1]))
	if err != nil {
		t.Fatal(err)
	}
	for {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(part.Body)
		if ct, _, _ := part.Header.(*gomail.InlineHeader).ContentType(); ct != "text/html" {
			continue
		}
		for _, m := range newsletterLink.FindAllStringSubmatch(string(body), -1) {
			if m[2] == kind {
				return strings.ReplaceAll(m[1], "&amp;", "&")
			}
		}
	}
	t.Fatalf("mail %d has no %s link in its HTML part", n, kind)
	return ""
}
