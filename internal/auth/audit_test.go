package auth

import (
	"strings"
	"testing"
)

func TestTargetIDsShortensLongLists(t *testing.T) {
	if got := TargetIDs("deadletters", []int64{1, 2, 3}); got != "deadletters 1,2,3" {
		t.Errorf("three ids: %q", got)
	}
	ids := make([]int64, 60)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	got := TargetIDs("deadletters", ids)
	if !strings.HasPrefix(got, "deadletters 1,2,") || !strings.HasSuffix(got, ",50 and 10 more") {
		t.Errorf("sixty ids: %q", got)
	}
}
