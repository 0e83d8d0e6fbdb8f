package store

import "testing"

// TestDeadLetterState: a discarded letter is discarded even if it was
// re-run before; only a letter neither re-run nor discarded is pending.
func TestDeadLetterState(t *testing.T) {
	for _, tc := range []struct {
		retried, discarded bool
		want               DeadLetterState
	}{
		{false, false, DeadLetterPending},
		{true, false, DeadLetterRetried},
		{false, true, DeadLetterDiscarded},
		{true, true, DeadLetterDiscarded},
	} {
		l := DeadLetter{Retried: tc.retried, Discarded: tc.discarded}
		if got := l.State(); got != tc.want {
			t.Errorf("retried %v, discarded %v: state %q, want %q", tc.retried, tc.discarded, got, tc.want)
		}
		if l.Pending() != (tc.want == DeadLetterPending) {
			t.Errorf("retried %v, discarded %v: Pending() = %v", tc.retried, tc.discarded, l.Pending())
		}
	}
}
