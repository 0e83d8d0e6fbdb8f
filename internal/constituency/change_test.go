package constituency

import (
	"testing"
)

func TestCheckChange(t *testing.T) {
	others := belgium()
	t.Run("a new organisation with what nobody has", func(t *testing.T) {
		o := Organisation{Handle: "New-Org", Name: "New", Language: "en", Networks: prefixes("203.0.113.0/24")}
		v, err := CheckChange(&o, others)
		if err != nil || !v.OK() || o.Handle != "new-org" {
			t.Fatalf("verdict %+v, %v; handle %q (normalized?)", v, err, o.Handle)
		}
	})
	t.Run("what another organisation has", func(t *testing.T) {
		o := Organisation{Handle: "uliege", Name: "Copy", Language: "en", Networks: prefixes("192.0.2.0/24"),
			ASNs: []uint32{64497}, Domains: []string{"kuleuven.be"}}
		v, err := CheckChange(&o, others)
		if err != nil || v.OK() {
			t.Fatalf("verdict %+v, %v", v, err)
		}
		want := map[string]string{FieldHandle: "uliege", FieldNetworks: "uliege", FieldASNs: "kuleuven", FieldDomains: "kuleuven"}
		if len(v.Taken) != len(want) {
			t.Fatalf("taken %+v", v.Taken)
		}
		for _, c := range v.Taken {
			if want[c.Field] != c.OwnerHandle {
				t.Errorf("%+v, want the owner %s", c, want[c.Field])
			}
		}
	})
	t.Run("invalid fields, and a conflict said at once", func(t *testing.T) {
		o := Organisation{Handle: "x", Name: "", Language: "xx", ASNs: []uint32{64496}}
		v, err := CheckChange(&o, others)
		if err != nil || v.OK() || len(v.Invalid) < 2 || len(v.Taken) != 1 || v.Problems != nil {
			t.Fatalf("verdict %+v, %v", v, err)
		}
	})
	t.Run("a network inside another's is a note, allowed", func(t *testing.T) {
		o := Organisation{Handle: "lab", Name: "Lab", Language: "en", Networks: prefixes("198.51.100.128/25")}
		v, err := CheckChange(&o, others)
		if err != nil || !v.OK() || len(v.Problems) != 1 || v.Problems[0].Severity != SeverityNote {
			t.Fatalf("verdict %+v, %v", v, err)
		}
	})
}
