package constituency

import (
	"strings"
	"testing"
)

func org(handle string, networks []string, asns []uint32, domains ...string) Organisation {
	o := Organisation{Handle: handle, Name: handle, Networks: prefixes(networks...), ASNs: asns, Domains: domains}
	if err := Normalize(&o); err != nil {
		panic(err)
	}
	return o
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		orgs []Organisation
		want []string // Problem.String()
	}{
		{"disjoint", []Organisation{
			org("a", []string{"192.0.2.0/25"}, []uint32{64496}, "a.be"),
			org("b", []string{"192.0.2.128/25", "2001:db8::/32"}, []uint32{64497}, "b.be"),
		}, nil},
		{"the same network twice", []Organisation{
			org("b", []string{"192.0.2.0/24"}, nil),
			org("a", []string{"192.0.2.0/24"}, nil),
		}, []string{`b: networks "192.0.2.0/24": is also a network of a; a network belongs to one organisation`}},
		{"redundant network of the same organisation", []Organisation{
			org("a", []string{"10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32", "2001:db8:1::/48"}, nil),
		}, []string{
			`a: networks "10.1.0.0/16": lies inside 10.0.0.0/8 of the same organisation, which covers it already`,
			`a: networks "2001:db8:1::/48": lies inside 2001:db8::/32 of the same organisation, which covers it already`,
		}},
		{"nested in another organisation: a note", []Organisation{
			org("hospital", []string{"192.0.2.128/25"}, nil),
			org("university", []string{"192.0.2.0/24"}, nil),
		}, []string{
			`note: hospital: networks "192.0.2.128/25": lies inside 192.0.2.0/24 of university; the more specific network wins, so these addresses are hospital's`,
		}},
		{"inside another organisation inside the same one: not redundant", []Organisation{
			org("a", []string{"10.0.0.0/8", "10.1.2.0/24"}, nil),
			org("b", []string{"10.1.0.0/16"}, nil),
		}, []string{
			`note: a: networks "10.1.2.0/24": lies inside 10.1.0.0/16 of b; the more specific network wins, so these addresses are a's`,
			`note: b: networks "10.1.0.0/16": lies inside 10.0.0.0/8 of a; the more specific network wins, so these addresses are b's`,
		}},
		{"the same AS twice", []Organisation{
			org("a", nil, []uint32{64496}),
			org("b", nil, []uint32{64496, 64497}),
		}, []string{`b: asns "AS64496": is also an AS of a; an AS belongs to one organisation`}},
		{"domains", []Organisation{
			org("a", nil, nil, "example.be", "www.example.be"),
			org("b", nil, nil, "example.be", "lab.example.be"),
			org("c", nil, nil, "badexample.be"),
		}, []string{
			`a: domains "www.example.be": is a subdomain of example.be of the same organisation, which covers it already`,
			`b: domains "example.be": is also a domain of a; a domain belongs to one organisation`,
			`note: b: domains "lab.example.be": is a subdomain of example.be of a; the longer domain wins, so it is b's`,
		}},
		{"the same handle twice", []Organisation{org("a", nil, nil), org("a", nil, nil)},
			[]string{`handle "a": two organisations have this handle`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range Check(tt.orgs) {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			wantErrors := len(tt.want) > 0 && !allNotes(tt.want)
			if got := HasErrors(Check(tt.orgs)); got != wantErrors {
				t.Errorf("HasErrors = %v, want %v", got, wantErrors)
			}
		})
	}
}

func allNotes(lines []string) bool {
	for _, l := range lines {
		if !strings.HasPrefix(l, "note: ") {
			return false
		}
	}
	return true
}
