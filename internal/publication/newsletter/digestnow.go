package newsletter

import (
	"context"
	"errors"

	"github.com/vigil-cert/vigil/internal/publication"
)

// MakeNow makes the digest at once, for the team's "make the digest now"
// button: published when AutoPublish is set, a draft otherwise, as the
// scheduled one is. It covers the days from the end of the last digest
// (by the schedule or by hand), but no more than the seven days before
// now, and the next scheduled digest starts where it ends. When a digest
// was made less than RecentDigest ago, or is being made, it makes none
// and returns a *RecentDigestError naming that digest.
func (d *Digests) MakeNow(ctx context.Context) (publication.Publication, error) {
	now := d.now().UTC()
	claim := digestState{End: now, Made: now}
	// A lost swap means another digest was noted since the read: the
	// next read finds it recent. A bound keeps a state that changes for
	// another reason from turning this into a loop.
	for range 3 {
		old, prev, found, err := d.readState(ctx)
		if err != nil {
			return publication.Publication{}, err
		}
		// A moment only noted is no digest; a Made of zero (a state of
		// an earlier version) is long ago.
		if found && !prev.Noted && (now.Sub(prev.Made) < RecentDigest || !prev.End.Before(now)) {
			return publication.Publication{}, &RecentDigestError{ID: prev.ID, Made: prev.Made}
		}
		from := now.AddDate(0, 0, -7)
		if found && !prev.Noted && prev.End.After(from) {
			from = prev.End
		}
		ok, err := d.swapState(ctx, old, claim)
		if err != nil {
			return publication.Publication{}, err
		}
		if ok {
			return d.makeClaimed(ctx, old, claim, from)
		}
	}
	return publication.Publication{}, errors.New("newsletter: the digest state changed at every try; no digest made")
}
