package console

import (
	"context"
	"maps"
	"net/http"
	"strconv"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/publication"
)

// The publication list's "make the digest now" button (issue 13): the
// newsletter's weekly digest made when the team asks, not only at its
// scheduled moment, so that this week's issue can go out at once.

// DigestMaker makes the newsletter's digest of the last seven days now
// (newsletter.Digests): published when the newsletter publishes its
// digests without review, a draft otherwise.
type DigestMaker interface {
	MakeNow(ctx context.Context) (publication.Publication, error)
}

func init() {
	maps.Copy(flashes, map[string]string{"publication-digest": "done.publications.digest"})
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
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "newsletter.digest", p.Ident, string(p.Status))
	redirectDone(w, r, "/publications/"+strconv.FormatInt(p.ID, 10), "publication-digest")
}
