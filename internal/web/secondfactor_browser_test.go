package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/sealed"
)

// TestBrowserSecondFactor drives the account page in headless Chromium:
// set up a second factor with the password, keep the recovery codes shown
// once, then log in again with a recovery code instead of the app.
func TestBrowserSecondFactor(t *testing.T) {
	raw := openStore(t)
	ctx := context.Background()
	sealedStore, sealedAccounts, err := sealed.Open(ctx, raw.Store, raw.Accounts, sealed.Options{DataDir: t.TempDir(), Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	st := raw.Wrapped(sealedStore, sealedAccounts)
	u := addUser(t, st, "alice", auth.RoleAnalyst, "alice's long passphrase")
	h, err := New(Deps{Console: consoleConfig(t, st, "test")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	tctx := startChromium(t, srv.URL+"/account")
	err = chromedp.Do(tctx,
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "alice's long passphrase"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("totp-enable")),
		chromedp.Click(chromedp.ID("totp-enable")),
		chromedp.WaitVisible(chromedp.ID("totp-secret")),
	)
	if err != nil {
		t.Fatalf("log in and start the enrolment: %v", err)
	}
	secret := run(t, tctx, chromedp.Text(chromedp.ID("totp-secret")))
	code, err := auth.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	screenshot(t, tctx, "account-totp-enrol")
	err = chromedp.Do(tctx,
		chromedp.SendKeys(chromedp.ID("totp-code"), code),
		chromedp.SendKeys(chromedp.ID("totp-password"), "alice's long passphrase"),
		chromedp.Click(chromedp.ID("totp-confirm-submit")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
	)
	if err != nil {
		t.Fatalf("confirm the second factor: %v", err)
	}
	codes := strings.Fields(run(t, tctx, chromedp.Text(chromedp.ID("recovery-codes"))))
	screenshot(t, tctx, "account-recovery-codes")
	if len(codes) != auth.RecoveryCodeCount {
		t.Fatalf("%d recovery codes shown, want %d: %q", len(codes), auth.RecoveryCodeCount, codes)
	}
	if got, _ := raw.GetUser(ctx, u.ID); !sealed.IsSealed(got.TOTPSecret) {
		t.Errorf("the secret is stored as %q, not sealed", got.TOTPSecret)
	}

	// A new browser session: password, then a recovery code.
	err = chromedp.Do(tctx,
		chromedp.Navigate(srv.URL+"/account?done=x"),
		chromedp.WaitVisible(chromedp.ID("totp-replace")),
	)
	if err != nil {
		t.Fatalf("account page with a second factor: %v", err)
	}
	if text := run(t, tctx, chromedp.Text(chromedp.CSS("main"))); strings.Contains(text, codes[0]) {
		t.Error("the recovery codes are shown a second time")
	}
	tctx2 := startChromium(t, srv.URL+"/account")
	err = chromedp.Do(tctx2,
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "alice's long passphrase"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SendKeys(chromedp.ID("code"), codes[0]),
		chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitVisible(chromedp.ID("totp-replace")),
	)
	if err != nil {
		t.Fatalf("log in with a recovery code: %v", err)
	}
	if n, _ := st.CountRecoveryCodes(ctx, u.ID); n != auth.RecoveryCodeCount-1 {
		t.Errorf("%d recovery codes left, want %d", n, auth.RecoveryCodeCount-1)
	}
}
