package constituencytest

// The contract of organisations changed concurrently.

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store"
)

func testConcurrentOrganisations(t *testing.T, s Stores) {
	// Changes from several places at once (the console, an import, the
	// API): none may fail but for a real conflict, and no version bump may
	// be lost, or a process would keep a stale lookup table.
	ctx := t.Context()
	start := version(t, s)
	const writers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*2+40)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				o := newOrg(fmt.Sprintf("w%d-%d", w, i))
				if err := s.CreateOrganisation(ctx, &o); err != nil {
					errs <- err
					return
				}
				o.ASNs = []uint32{uint32(64500 + i)}
				if err := s.UpdateOrganisation(ctx, &o); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	imported := []constituency.Organisation{newOrg("imp-1"), newOrg("imp-2")}
	wg.Go(func() {
		for range 2 {
			if _, err := s.ImportOrganisations(ctx, imported, false); err != nil {
				errs <- err
			}
		}
	})
	// The same handle created and imported at once: whichever comes
	// second updates (import) or finds it taken (create).
	for i := range 10 {
		o := newOrg(fmt.Sprintf("race-%d", i))
		wg.Go(func() {
			c := o
			if err := s.CreateOrganisation(ctx, &c); err != nil && !errors.Is(err, store.ErrConflict) {
				errs <- err
			}
		})
		wg.Go(func() {
			if _, err := s.ImportOrganisations(ctx, []constituency.Organisation{o}, false); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, err := s.CountOrganisations(ctx, constituency.OrganisationQuery{}); err != nil || n != writers*each+2+10 {
		t.Errorf("CountOrganisations = %d, %v; want %d", n, err, writers*each+2+10)
	}
	// Every create and update bumps once, the first import once, the
	// second none; each race- handle is created once, by whichever won.
	if got, want := version(t, s)-start, int64(writers*each*2+1+10); got != want {
		t.Errorf("version rose by %d, want %d", got, want)
	}
}
