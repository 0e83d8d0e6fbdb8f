package web

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
)

// attachedScript is an HTML attachment whose script, were it ever run in
// the console's origin, would leave a mark in its local storage.
const attachedScript = `<html><body><script>localStorage.setItem("attachment-ran","yes");document.title="ran"</script>hello</body></html>`

// TestBrowserCaseLists walks the lists in headless Chromium: a view with
// its count, a search by observable that also finds the reports, the CSV
// export of that search, the bulk assignment, an incident's HTML
// attachment that downloads and runs nothing, and the split of a report.
func TestBrowserCaseLists(t *testing.T) {
	axe := axeSource(t)
	st := openStore(t)
	ctx := context.Background()
	const password = "the analyst's long passphrase"
	addUser(t, st, "analyst", auth.RoleAnalyst, password)
	svc := &incident.Service{Store: st, Audit: st}
	actor := incident.Actor{Name: "analyst"}
	receive := func(kind incident.Kind, text string, att ...incident.Attachment) incident.Receipt {
		t.Helper()
		r := incident.Report{Channel: incident.ChannelWeb, Kind: kind, Received: time.Now(), Text: text,
			Reporter: incident.Reporter{Name: "A citizen"}, Observables: extract.Find(text), Attachments: att}
		rec, err := svc.Receive(ctx, &r)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	sum, err := st.PutBlob(ctx, []byte(attachedScript))
	if err != nil {
		t.Fatal(err)
	}
	phish := receive(incident.KindPhishing, "A mail asks me to log in at https://list-bank.be/login",
		incident.Attachment{SHA256: sum, Name: "login page.html", ContentType: "text/html", Size: int64(len(attachedScript))})
	dos := receive(incident.KindDoS, "Our uplink is saturated by 198.51.100.40")
	mixed := receive(incident.KindFraud, "A fake shop at https://cheap-list.be took my money.\nAlso my e-mail account was taken over yesterday.")
	phishInc, err := svc.CreateIncident(ctx, actor, incident.Incident{Title: "Bank phishing"}, []int64{phish.ReportID})
	if err != nil {
		t.Fatal(err)
	}
	dosInc, err := svc.CreateIncident(ctx, actor, incident.Incident{Title: "Uplink DoS"}, []int64{dos.ReportID})
	if err != nil {
		t.Fatal(err)
	}
	srv := serveConsole(t, consoleConfig(t, st, "test"))
	tctx := startChromium(t, srv.URL+"/incidents")
	logIn(t, tctx, "analyst", password, "incident-views")
	downloads := t.TempDir()
	if err := chromedp.Do(tctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		// The page's browser context is its own (startChromium), so the
		// download setting names it.
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
			BrowserContextID: chromedp.FromContext(ctx).BrowserContextID})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	runSteps(t,
		browserStep{"views", func(t *testing.T) {
			waitText(t, tctx, "#view-unassigned", "2")
			if err := chromedp.Do(tctx, chromedp.Click(chromedp.ID("view-mine"))); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#noincidents", "No incidents match.")
			screenshot(t, tctx, "caselists-mine")
		}},
		browserStep{"search", func(t *testing.T) {
			err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/incidents"), chromedp.WaitVisible(chromedp.ID("filter-observable")),
				chromedp.SendKeys(chromedp.ID("filter-observable"), "list-bank.be"), chromedp.Click(chromedp.ID("filter-submit")))
			if err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#matching-reports", "1 report matches")
			text := run(t, tctx, chromedp.Text(chromedp.ID("incidents")))
			if !strings.Contains(text, phishInc.Tag.String()) || strings.Contains(text, dosInc.Tag.String()) {
				t.Errorf("the search found %q", text)
			}
			screenshot(t, tctx, "caselists-search")
			axeCheck(t, tctx, axe, "/incidents (a search)", "en")
		}},
		browserStep{"export", func(t *testing.T) {
			if err := chromedp.Do(tctx, chromedp.Click(chromedp.ID("export-csv"))); err != nil {
				t.Fatal(err)
			}
			csv := waitDownload(t, downloads, "vigil-incidents-*.csv")
			if !strings.HasPrefix(csv, "tag,title,status") || !strings.Contains(csv, phishInc.Tag.String()+",Bank phishing,new") ||
				strings.Contains(csv, "Uplink DoS") {
				t.Errorf("the export: %q", csv)
			}
		}},
		browserStep{"bulk assign", func(t *testing.T) {
			err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/incidents"), chromedp.WaitVisible(chromedp.ID("bulk-assign")),
				chromedp.Click(chromedp.ID("select-"+phishInc.Tag.String())), chromedp.Click(chromedp.ID("select-"+dosInc.Tag.String())),
				chromedp.Click(chromedp.ID("bulk-assign")))
			if err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#view-mine", "2")
			screenshot(t, tctx, "caselists-assigned")
		}},
		browserStep{"attachment", func(t *testing.T) {
			page := srv.URL + "/incidents/" + phishInc.Tag.String()
			if err := chromedp.Do(tctx, chromedp.Navigate(page)); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#incident-attachments", sum)
			screenshot(t, tctx, "caselists-attachments")
			axeCheck(t, tctx, axe, "/incidents/{tag} (attachments)", "en")
			// Going to the attachment's address, as a person would by
			// pasting it, downloads it: the page stays and no script runs.
			if _, err := chromedp.Run(tctx, chromedp.Evaluate[any](`location.href = "/incidents/`+phishInc.Tag.String()+`/attachments/`+sum+`"; null`)); err != nil {
				t.Fatal(err)
			}
			if got := waitDownload(t, downloads, "login page.html"); got != attachedScript {
				t.Errorf("downloaded %q", got)
			}
			if loc := run(t, tctx, chromedp.Location()); loc != page {
				t.Errorf("the browser left for %s", loc)
			}
			ran := run(t, tctx, chromedp.Evaluate[any](`localStorage.getItem("attachment-ran")`))
			if title := run(t, tctx, chromedp.Title()); ran != nil || title == "ran" {
				t.Errorf("the attachment's script ran: %v, title %q", ran, title)
			}
		}},
		browserStep{"split", func(t *testing.T) {
			part := "Also my e-mail account was taken over yesterday."
			err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/reports"), chromedp.WaitVisible(chromedp.ID("reports")),
				chromedp.Click(chromedp.ID("split-"+strconv.FormatInt(mixed.ReportID, 10))), chromedp.WaitVisible(chromedp.ID("split-part")),
				chromedp.SendKeys(chromedp.ID("split-part"), part))
			if err != nil {
				t.Fatal(err)
			}
			screenshot(t, tctx, "caselists-split")
			axeCheck(t, tctx, axe, "/reports/{id}/split", "en")
			if err := chromedp.Do(tctx, chromedp.Click(chromedp.ID("split-submit"))); err != nil {
				t.Fatal(err)
			}
			waitText(t, tctx, "#reports", part)
			screenshot(t, tctx, "caselists-queue")
			axeCheck(t, tctx, axe, "/reports (split done)", "en")
		}},
	)
}

// waitDownload waits until a file matching pattern is complete in dir,
// and returns its content.
func waitDownload(t *testing.T, dir, pattern string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		if len(files) == 1 {
			if data, err := os.ReadFile(files[0]); err == nil && len(data) > 0 {
				return string(data)
			}
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(dir)
			t.Fatalf("no download %s in %v", pattern, entries)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
