package web

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
)

// TestBrowserDisableOrganisation disables an organisation in headless
// Chromium: the danger button opens a confirmation first, and the real
// one disables; the page then says what a disabled organisation is, and
// the organisations list and "who owns this?" mark it. Enabling it again
// takes one button.
func TestBrowserDisableOrganisation(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	for _, o := range []*constituency.Organisation{
		{Handle: "uni", Name: "Example University", Sector: "education", Country: "BE", Language: "en",
			Networks: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}},
		{Handle: "hospital", Name: "City Hospital", Sector: "health", Country: "BE", Language: "nl",
			Networks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}},
	} {
		if err := st.CreateOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	uni, err := st.GetOrganisationByHandle(ctx, "uni")
	if err != nil {
		t.Fatal(err)
	}
	addUser(t, st, "admin", auth.RoleAdmin, "the admin's long passphrase")
	srv := serveConsole(t, consoleConfig(t, st, "test"))
	page := fmt.Sprintf("%s/constituency/%d", srv.URL, uni.ID)

	tctx := startChromium(t, page)
	logIn(t, tctx, "admin", "the admin's long passphrase", "org-view")
	if run(t, tctx, chromedp.Evaluate[bool](`document.getElementById("disable-submit").checkVisibility()`)) {
		t.Fatal("the real disable button shows before the confirmation is opened")
	}
	err = chromedp.Do(tctx,
		chromedp.Click(chromedp.CSS("#disable > summary")),
		chromedp.WaitVisible(chromedp.ID("disable-submit")),
	)
	if err != nil {
		t.Fatalf("open the confirmation: %v", err)
	}
	if bg := run(t, tctx, chromedp.Evaluate[string](`getComputedStyle(document.getElementById("disable-submit")).backgroundColor`)); bg == "rgba(0, 0, 0, 0)" || bg == "rgb(255, 255, 255)" {
		t.Errorf("the disable button is not in the danger style: background %s", bg)
	}
	screenshot(t, tctx, "organisation-disable-confirm")
	err = chromedp.Do(tctx,
		chromedp.Click(chromedp.ID("disable-submit")),
		chromedp.WaitVisible(chromedp.ID("org-disabled-notice")),
	)
	if err != nil {
		t.Fatalf("disable: %v", err)
	}
	if text := run(t, tctx, chromedp.Text(chromedp.ID("org-name"))); !strings.Contains(text, "disabled") {
		t.Errorf("the heading does not say disabled: %q", text)
	}
	screenshot(t, tctx, "organisation-disabled")
	if o, err := st.GetOrganisation(ctx, uni.ID); err != nil || !o.Disabled {
		t.Fatalf("stored after the disable: %+v, %v", o.Disabled, err)
	}

	err = chromedp.Do(tctx,
		chromedp.Navigate(srv.URL+"/constituency?lookup=198.51.100.7"),
		chromedp.WaitVisible(chromedp.ID("lookup-result")),
	)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if text := run(t, tctx, chromedp.Text(chromedp.ID("lookup-result"))); !strings.Contains(text, "Example University") || !strings.Contains(text, "disabled") {
		t.Errorf("who owns this? %q", text)
	}
	rows := run(t, tctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#organisations tbody tr")).map(r => r.cells[0].textContent.trim())`))
	// By handle: the hospital, then the university.
	if len(rows) != 2 || strings.Contains(rows[0], "disabled") || !strings.Contains(rows[1], "disabled") {
		t.Errorf("the list's names %q: want exactly the university marked disabled", rows)
	}
	screenshot(t, tctx, "organisations-disabled")

	err = chromedp.Do(tctx,
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.ID("enable")),
		chromedp.Click(chromedp.ID("enable")),
		chromedp.WaitVisible(chromedp.CSS("#disable > summary")),
	)
	if err != nil {
		t.Fatalf("enable: %v", err)
	}
	if o, err := st.GetOrganisation(ctx, uni.ID); err != nil || o.Disabled {
		t.Errorf("stored after the enable: %+v, %v", o.Disabled, err)
	}
}
