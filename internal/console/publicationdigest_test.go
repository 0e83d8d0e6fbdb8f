package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
)

// TestMakeDigestNow: the publication list's "make the digest now"
// button is a publisher's (approving is asked, as the digest may go out
// at once); it makes the digest of the last seven days, published when
// the newsletter publishes digests without review, and is not found
// without a newsletter. A second press leads to the digest made.
func TestMakeDigestNow(t *testing.T) {
	env := newPublicationEnv(t)
	publisher := env.browser()
	publisher.login("publisher", casePassword)
	if body := publisher.get("/publications").body; strings.Contains(body, `id="digest-now"`) {
		t.Error("the button is offered without a newsletter")
	}
	if res := publisher.post("/publications/digest", url.Values{}); res.status != http.StatusNotFound {
		t.Errorf("without a newsletter: status %d", res.status)
	}

	env.console.publications.Digests = &newsletter.Digests{Service: env.console.publications.Service, State: env.store,
		Catalog: i18n.Embedded(), AutoPublish: true}
	analyst := env.analyst()
	if body := analyst.get("/publications").body; strings.Contains(body, `id="digest-now"`) {
		t.Error("the button is offered to an analyst, who may not publish")
	}
	if res := analyst.post("/publications/digest", url.Values{}); res.status != http.StatusForbidden {
		t.Errorf("an analyst's request: status %d", res.status)
	}
	if body := publisher.get("/publications").body; !strings.Contains(body, `id="digest-now"`) {
		t.Fatal("the button is not offered to the publisher")
	}
	res := publisher.post("/publications/digest", url.Values{})
	m := pubIDPath.FindStringSubmatch(res.location)
	if res.status != http.StatusSeeOther || m == nil || !strings.HasSuffix(res.location, "?done=publication-digest") {
		t.Fatalf("make the digest: status %d, location %q: %.400s", res.status, res.location, res.body)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	p, err := env.store.Publications.GetPublication(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != publication.KindDigest || p.Status != publication.StatusPublished {
		t.Errorf("the digest made is a %s, %s", p.Kind, p.Status)
	}
	if body := publisher.get(res.location).body; !strings.Contains(body, "The digest is made.") {
		t.Errorf("the digest's page lacks the notice: %.600s", body)
	}
	if !contains(env.auditActions(), "newsletter.digest") {
		t.Errorf("the audit log lacks the request: %v", env.auditActions())
	}

	// A second press (a double click, a colleague) makes no second
	// digest: it leads to the one just made, and says so.
	again := publisher.post("/publications/digest", url.Values{})
	if want := "/publications/" + m[1] + "?done=publication-digest-recent"; again.status != http.StatusSeeOther || again.location != want {
		t.Fatalf("the second press: status %d, location %q; want %q", again.status, again.location, want)
	}
	if body := publisher.get(again.location).body; !strings.Contains(body, "A digest was made a few minutes ago") {
		t.Errorf("the digest's page lacks the notice of the second press: %.600s", body)
	}
	if page, err := env.store.Publications.ListPublications(context.Background(), publication.Query{Kind: publication.KindDigest}); err != nil || page.Total != 1 {
		t.Errorf("%d digests after two presses, %v; want one", page.Total, err)
	}
}
