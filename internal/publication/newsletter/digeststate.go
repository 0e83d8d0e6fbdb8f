package newsletter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store"
)

// Both ways of making a digest, the schedule and the team's button, note
// in DigestStateKey the end of the window of the last digest made, and
// claim the next window there by a compare-and-set before they make its
// digest: two processes, or a schedule and a click, or two clicks, that
// read the same state claim it once, so no two digests cover the same
// days.

// MinDigestWindow is the shortest window a scheduled digest covers: a
// digest made by hand less than this before the scheduled moment leaves
// that week without one (what it would list goes in the next).
const MinDigestWindow = 24 * time.Hour

// RecentDigest is how long after a digest is made that MakeNow refuses
// to make another (a double click, two of the team at once, the button
// right after the schedule).
const RecentDigest = 10 * time.Minute

// DigestStateStore is where the digests note the last one made: the
// event store's state, whose SwapState is a compare-and-set.
type DigestStateStore interface {
	GetState(ctx context.Context, key string) ([]byte, error)
	SwapState(ctx context.Context, key string, old, value []byte) (bool, error)
}

// ErrRecentDigest is what every *RecentDigestError is (errors.Is).
var ErrRecentDigest = errors.New("newsletter: a digest was made moments ago")

// RecentDigestError is MakeNow's refusal: a digest was made less than
// RecentDigest ago (or is being made), so it makes none.
type RecentDigestError struct {
	// ID is the digest made, 0 while it is being made.
	ID int64
	// Made is when it was made.
	Made time.Time
}

func (e *RecentDigestError) Error() string {
	if e.ID == 0 {
		return fmt.Sprintf("newsletter: a digest is being made (since %s); no second one is made", e.Made.Format(time.RFC3339))
	}
	return fmt.Sprintf("newsletter: digest %d was made at %s; no second one is made", e.ID, e.Made.Format(time.RFC3339))
}

// Is makes every RecentDigestError ErrRecentDigest.
func (e *RecentDigestError) Is(target error) bool { return target == ErrRecentDigest }

// digestState is the value of DigestStateKey. Versions before it kept
// the scheduled moment alone (RFC 3339), which is read as End.
type digestState struct {
	// End is the end of the last digest's window: the next one starts
	// there.
	End time.Time `json:"end"`
	// Made is when the last digest was made; zero when the moment was
	// only noted (a new installation's first run).
	Made time.Time `json:"made,omitzero"`
	// ID is the last digest's publication, once it exists.
	ID int64 `json:"id,omitempty"`
	// Noted says that no digest was made: End is the scheduled moment a
	// new installation started at, where the schedule's first digest
	// starts; the button's first one still covers the last seven days.
	Noted bool `json:"noted,omitempty"`
}

func (s digestState) encode() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // times and an integer always encode
	}
	return b
}

// readState returns the state as stored (nil when absent, the value to
// swap from) and read; found is false when there is none (absent, or
// emptied by a digest that failed before any was noted).
func (d *Digests) readState(ctx context.Context) (raw []byte, s digestState, found bool, err error) {
	raw, err = d.State.GetState(ctx, DigestStateKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, s, false, nil
	case err != nil:
		return nil, s, false, fmt.Errorf("newsletter: read the digest state: %w", err)
	case len(raw) == 0:
		return raw, s, false, nil
	case bytes.HasPrefix(raw, []byte("{")):
		err = json.Unmarshal(raw, &s)
	default:
		s.End, err = time.Parse(time.RFC3339, string(raw))
	}
	if err != nil {
		return nil, s, false, fmt.Errorf("newsletter: the digest state %q: %w", raw, err)
	}
	return raw, s, true, nil
}

// swapState sets the state to s when it still holds old.
func (d *Digests) swapState(ctx context.Context, old []byte, s digestState) (bool, error) {
	ok, err := d.State.SwapState(ctx, DigestStateKey, old, s.encode())
	if err != nil {
		return false, fmt.Errorf("newsletter: note the digest: %w", err)
	}
	return ok, nil
}

// makeClaimed makes the digest of [from, claim.End) once claim, swapped
// from old, holds the state, and notes the digest's publication in it.
// A failure before the digest exists gives the window back (old, or an
// empty value for none); one after keeps it, with the digest the team
// can finish by hand. A crash between the claim and the digest loses the
// window's digest rather than making it twice.
func (d *Digests) makeClaimed(ctx context.Context, old []byte, claim digestState, from time.Time) (publication.Publication, error) {
	p, err := d.Make(ctx, from, claim.End)
	// The digest is made or not: the notes below must not be cut short
	// by the request that asked for it.
	ctx = context.WithoutCancel(ctx)
	if err != nil && p.ID == 0 {
		if old == nil {
			old = []byte{}
		}
		if _, rerr := d.State.SwapState(ctx, DigestStateKey, claim.encode(), old); rerr != nil {
			d.log().Error("newsletter: giving back the failed digest's window", "err", rerr)
		}
		return p, err
	}
	made := claim
	made.ID = p.ID
	if ok, serr := d.swapState(ctx, claim.encode(), made); serr != nil || !ok {
		d.log().Warn("newsletter: the digest is made but not noted in the state", "ident", p.Ident, "err", serr)
	}
	return p, err
}
