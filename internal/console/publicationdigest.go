package console

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strconv"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
)

// The publication list's "make the digest now" button (issue 13): the
// newsletter's weekly digest made when the team asks, not only at its
// scheduled moment, so that this week's issue can go out at once.

// DigestMaker makes the newsletter's digest now (newsletter.Digests), of
// the days since the last digest and at most the last seven: published
// when the newsletter publishes its digests without review, a draft
// otherwise. It refuses with a *newsletter.RecentDigestError when a
// digest was made minutes ago.
type DigestMaker interface {
	MakeNow(ctx context.Context) (publication.Publication, error)
}

func init() {
	maps.Copy(flashes, map[string]string{"publication-digest": "done.publications.digest",
		"publication-digest-recent": "done.publications.digest.recent", "publication-digest-busy": "done.publications.digest.busy"})
}

// publicationDigestRoutes adds the button's action, which is not found
// when the newsletter makes no digests. Approving is asked: a digest
// made now may be published and mailed at once.
func (c *Console) publicationDigestRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /publications/digest", c.member(auth.ApprovePublications, c.makeDigestNow))
}

// canMakeDigest reports whether the list shows the button to v.
func (c *Console) canMakeDigest(v *visit) bool {
	return c.publications.Digests != nil && v.can(auth.ApprovePublications)
}

func (c *Console) makeDigestNow(w http.ResponseWriter, r *http.Request, v *visit) {
	if c.publications.Digests == nil {
		c.notFound(w, r, v)
		return
	}
	p, err := c.publications.Digests.MakeNow(r.Context())
	// A second press (a double click, a colleague, the schedule minutes
	// before) leads to the digest made rather than making another.
	if recent := (*newsletter.RecentDigestError)(nil); errors.As(err, &recent) {
		if recent.ID == 0 {
			redirectDone(w, r, "/publications", "publication-digest-busy")
			return
		}
		redirectDone(w, r, "/publications/"+strconv.FormatInt(recent.ID, 10), "publication-digest-recent")
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "newsletter.digest", p.Ident, string(p.Status))
	redirectDone(w, r, "/publications/"+strconv.FormatInt(p.ID, 10), "publication-digest")
}
