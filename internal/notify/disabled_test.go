package notify

import "testing"

func TestDisabledOrganisation(t *testing.T) { bothReads(t, testDisabledOrganisation) }

// testDisabledOrganisation: a disabled organisation is told nothing and
// its queue is held, while another organisation's events go out; once it
// is enabled again, the next pass tells it what was held.
func testDisabledOrganisation(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.db.orgStore.SetOrganisationDisabled(e.ctx, e.org.ID, true); err != nil {
		t.Fatal(err)
	}
	e.put([]map[string]string{scan("192.0.2.53"), infected("192.0.2.54")})
	rep := e.run(day1)
	if rep.Notified != 0 || rep.Consumed != 0 || len(e.messages()) != 0 {
		t.Errorf("disabled: report %+v, %d messages; want nothing told or consumed", rep, len(e.messages()))
	}
	if got := e.pending(); got != 2 {
		t.Errorf("disabled: %d pending, want both held", got)
	}
	if _, err := e.db.orgStore.SetOrganisationDisabled(e.ctx, e.org.ID, false); err != nil {
		t.Fatal(err)
	}
	rep = e.run(day1)
	if rep.Notified != 2 || rep.Consumed != 2 || len(e.messages()) == 0 || e.pending() != 0 {
		t.Errorf("enabled again: report %+v, %d messages, %d pending; want the held events told", rep, len(e.messages()), e.pending())
	}
}
