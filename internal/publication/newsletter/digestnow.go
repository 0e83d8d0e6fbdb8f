package newsletter

import (
	"context"

	"github.com/vigil-cert/vigil/internal/publication"
)

// MakeNow makes the digest of the seven days before now at once, for
// the team's "make the digest now" button: published when AutoPublish
// is set, a draft otherwise, as the scheduled one is. The schedule is
// left as it is: the next scheduled digest is still made at its moment.
func (d *Digests) MakeNow(ctx context.Context) (publication.Publication, error) {
	now := d.now().UTC()
	return d.Make(ctx, now.AddDate(0, 0, -7), now)
}
