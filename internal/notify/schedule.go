package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/store"
)

// lastDigestKey is the State key remembering when an organisation's last
// digest went out; told.ForgetOrganisation removes it with the
// organisation.
func lastDigestKey(handle string) string { return told.LastDigestPrefix + handle }

// digestBoundary is the most recent moment at or before now at which a
// digest of schedule falls due: the start of the hour for hourly digests,
// today's (or else yesterday's) digest time for daily ones, in zone.
// time.Date normalises a digest time that a daylight-saving change skips.
func digestBoundary(now time.Time, schedule string, at time.Duration, zone *time.Location) time.Time {
	local := now.In(zone)
	y, m, d := local.Date()
	switch schedule {
	case DigestHourly:
		return time.Date(y, m, d, local.Hour(), 0, 0, 0, zone)
	case DigestDaily:
		h, min := int(at/time.Hour), int(at%time.Hour/time.Minute)
		b := time.Date(y, m, d, h, min, 0, 0, zone)
		if b.After(now) {
			b = time.Date(y, m, d-1, h, min, 0, 0, zone)
		}
		return b
	}
	return time.Time{}
}

// nextDigest is the first moment after now at which a digest of schedule
// falls due; zero when digests are off.
func nextDigest(now time.Time, schedule string, at time.Duration, zone *time.Location) time.Time {
	b := digestBoundary(now, schedule, at, zone)
	switch schedule {
	case DigestHourly:
		return b.Add(time.Hour)
	case DigestDaily:
		y, m, d := b.Date()
		h, min := int(at/time.Hour), int(at%time.Hour/time.Minute)
		return time.Date(y, m, d+1, h, min, 0, 0, zone)
	}
	return time.Time{}
}

// digestDue reports whether org's digest is due at now (read holds the
// digest times when the pass read them all at once): the boundary of
// its schedule has passed since the last digest (or there never was one).
func (n *Notifier) digestDue(ctx context.Context, handle, schedule string, now time.Time, cfg *passConfig, read map[string][]byte) (bool, error) {
	if schedule == DigestOff {
		return false, nil
	}
	var raw []byte
	if read != nil {
		var ok bool
		if raw, ok = read[lastDigestKey(handle)]; !ok {
			return true, nil
		}
	} else {
		var err error
		raw, err = n.store.GetState(ctx, lastDigestKey(handle))
		if errors.Is(err, store.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("last digest of %s: %w", handle, err)
		}
	}
	last, err := time.Parse(time.RFC3339Nano, string(raw))
	if err != nil {
		// A damaged record must not stop the digest for good.
		n.log.Warn("notify: unreadable last-digest time; sending the digest", "org", handle, "value", string(raw))
		return true, nil
	}
	return last.Before(digestBoundary(now, schedule, cfg.digestAt, cfg.zone)), nil
}
