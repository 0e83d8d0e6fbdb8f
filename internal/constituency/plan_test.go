package constituency

import (
	"net/netip"
	"slices"
	"testing"
)

func TestPlanImport(t *testing.T) {
	stored := []Organisation{
		{ID: 1, Handle: "same", Name: "Same", Language: "en", Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}},
		{ID: 2, Handle: "changed", Name: "Changed", Language: "en"},
		{ID: 3, Handle: "gone", Name: "Gone", Language: "en", Networks: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}},
	}
	file := []Organisation{
		{Handle: "same", Name: "Same", Language: "en", Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}},
		{Handle: "changed", Name: "Changed now", Language: "en"},
		{Handle: "new", Name: "New", Language: "en", Networks: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}},
	}

	t.Run("replace", func(t *testing.T) {
		p := PlanImport(file, stored, true)
		if p.Created != 1 || p.Updated != 1 || p.Deleted != 1 || p.Unchanged != 1 {
			t.Errorf("plan %+v", p)
		}
		if got := p.Labels(ActionDelete); !slices.Equal(got, []string{"gone (Gone)"}) {
			t.Errorf("deleted %q", got)
		}
		if len(p.Problems) != 0 {
			t.Errorf("problems %v", p.Problems)
		}
	})
	t.Run("merge keeps an organisation whose network the file gives another", func(t *testing.T) {
		p := PlanImport(file, stored, false)
		if p.Deleted != 0 || !HasErrors(p.Problems) {
			t.Errorf("plan %+v", p)
		}
	})
}
