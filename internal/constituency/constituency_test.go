package constituency

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

const testKey = `-----BEGIN PGP PUBLIC KEY BLOCK-----
Comment: test key

mDMEZQ3ZzxYJKwYBBAHaRw8BAQdAbWFkZSB1cCBmb3IgdGhlIHRlc3RzIG9ubHk=
tCBDU0lSVCA8Y3NpcnRAdWxpZWdlLmJlPg==
=Xy5a
-----END PGP PUBLIC KEY BLOCK-----`

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		p, err := ParseNetwork(s)
		if err != nil {
			panic(err)
		}
		out[i] = p
	}
	return out
}

func TestNormalize(t *testing.T) {
	o := Organisation{
		ID:       7,
		Handle:   "  ULiege ",
		Name:     " Université de Liège ",
		Sector:   "education",
		Country:  "be",
		Language: "FR",
		Notes:    "line one\r\nline two\r\n",
		Networks: prefixes("2001:db8:1::/48", "192.0.2.0/24", "198.51.100.7", "192.0.2.0/24", "::ffff:203.0.113.0/120"),
		ASNs:     []uint32{64500, 64496, 64500},
		Domains:  []string{"ULiege.be.", "bücher.example", "uliege.be"},
		Contacts: []Contact{
			{ID: 3, Name: "Team", Email: "csirt@ULIEGE.BE", Role: "Security", Notify: true, PGPKey: strings.ReplaceAll(testKey, "\n", "\r\n")},
			{Name: "Abuse desk", Email: "abuse@uliege.be", Phone: " +32 4 366 00 00 ", Role: "abuse"},
			{Name: "Abuse desk", Email: "abuse@uliege.be", Phone: "+32 4 366 00 00", Role: "abuse"}, // a repeat
		},
	}
	if err := Normalize(&o); err != nil {
		t.Fatal(err)
	}
	want := Organisation{
		ID:       7,
		Handle:   "uliege",
		Name:     "Université de Liège",
		Sector:   "education",
		Country:  "BE",
		Language: "fr",
		Notes:    "line one\nline two",
		Networks: prefixes("192.0.2.0/24", "198.51.100.7/32", "203.0.113.0/24", "2001:db8:1::/48"),
		ASNs:     []uint32{64496, 64500},
		Domains:  []string{"uliege.be", "xn--bcher-kva.example"},
		Contacts: []Contact{
			{Name: "Abuse desk", Email: "abuse@uliege.be", Phone: "+32 4 366 00 00", Role: "abuse"},
			{ID: 3, Name: "Team", Email: "csirt@uliege.be", Role: "security", Notify: true, PGPKey: testKey},
		},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got  %+v\nwant %+v", o, want)
	}
	t.Run("idempotent", func(t *testing.T) {
		again := o
		again.Networks = append([]netip.Prefix(nil), o.Networks...)
		again.Contacts = append([]Contact(nil), o.Contacts...)
		if err := Normalize(&again); err != nil || !reflect.DeepEqual(again, want) {
			t.Errorf("second Normalize: %v\n%+v", err, again)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		o := Organisation{Handle: "x", Name: "X", Networks: []netip.Prefix{}, Contacts: []Contact{}}
		if err := Normalize(&o); err != nil {
			t.Fatal(err)
		}
		if o.Language != "en" || o.Networks != nil || o.Contacts != nil {
			t.Errorf("got %+v, want language en and nil lists", o)
		}
	})
}

func TestNormalizeErrors(t *testing.T) {
	base := func() Organisation { return Organisation{Handle: "ok", Name: "OK"} }
	tests := []struct {
		name    string
		change  func(o *Organisation)
		field   string
		contact int
		reason  string // a part of it
	}{
		{"no handle", func(o *Organisation) { o.Handle = "" }, FieldHandle, 0, "needs a handle"},
		{"handle with a dot", func(o *Organisation) { o.Handle = "u.liege" }, FieldHandle, 0, "only lower-case letters"},
		{"handle starting with -", func(o *Organisation) { o.Handle = "-x" }, FieldHandle, 0, "starts with a letter"},
		{"handle of 64", func(o *Organisation) { o.Handle = strings.Repeat("a", 64) }, FieldHandle, 0, "at most 63"},
		{"no name", func(o *Organisation) { o.Name = " " }, FieldName, 0, "needs a name"},
		{"name on two lines", func(o *Organisation) { o.Name = "a\nb" }, FieldName, 0, "one line"},
		{"country of three letters", func(o *Organisation) { o.Country = "BEL" }, FieldCountry, 0, "two-letter"},
		{"country that is none", func(o *Organisation) { o.Country = "ZZ" }, FieldCountry, 0, "not an ISO 3166"},
		{"language", func(o *Organisation) { o.Language = "es" }, FieldLanguage, 0, "en, nl, fr or de"},
		{"host bits", func(o *Organisation) { o.Networks = prefixes("192.0.2.7/24") }, FieldNetworks, 0, "the network is 192.0.2.0/24"},
		{"IPv6 host bits", func(o *Organisation) { o.Networks = prefixes("2001:db8::1/32") }, FieldNetworks, 0, "the network is 2001:db8::/32"},
		{"AS 0", func(o *Organisation) { o.ASNs = []uint32{0} }, FieldASNs, 0, "reserved"},
		{"wildcard domain", func(o *Organisation) { o.Domains = []string{"*.uliege.be"} }, FieldDomains, 0, "covers its subdomains"},
		{"IP as domain", func(o *Organisation) { o.Domains = []string{"192.0.2.1"} }, FieldDomains, 0, "not a domain name"},
		{"bad domain", func(o *Organisation) { o.Domains = []string{"a..b"} }, FieldDomains, 0, "not a domain name"},
		{"no e-mail", func(o *Organisation) { o.Contacts = []Contact{{Role: "abuse"}} }, FieldContactEmail, 1, "needs an e-mail"},
		{"e-mail with name", func(o *Organisation) {
			o.Contacts = []Contact{{Email: "CSIRT <csirt@uliege.be>", Role: "abuse"}}
		}, FieldContactEmail, 1, "alone"},
		{"e-mail without domain", func(o *Organisation) { o.Contacts = []Contact{{Email: "root@localhost", Role: "abuse"}} }, FieldContactEmail, 1, "full domain"},
		{"not an e-mail", func(o *Organisation) { o.Contacts = []Contact{{Email: "csirt", Role: "abuse"}} }, FieldContactEmail, 1, "not an e-mail"},
		{"no role", func(o *Organisation) { o.Contacts = []Contact{{Email: "a@b.be"}} }, FieldContactRole, 1, "needs a role"},
		{"unknown role", func(o *Organisation) { o.Contacts = []Contact{{Email: "a@b.be", Role: "boss"}} }, FieldContactRole, 1, "not a contact role"},
		{"second contact", func(o *Organisation) {
			o.Contacts = []Contact{{Email: "a@b.be", Role: "abuse"}, {Email: "c@b.be", Role: "abuse", Phone: "1\t2"}}
		}, FieldContactPhone, 2, "one line"},
		{"private key", func(o *Organisation) {
			o.Contacts = []Contact{{Email: "a@b.be", Role: "abuse", PGPKey: "-----BEGIN PGP PRIVATE KEY BLOCK-----\nx\n-----END PGP PRIVATE KEY BLOCK-----"}}
		}, FieldContactPGPKey, 1, "PRIVATE"},
		{"fingerprint for a key", func(o *Organisation) {
			o.Contacts = []Contact{{Email: "a@b.be", Role: "abuse", PGPKey: "0123 4567 89AB CDEF"}}
		}, FieldContactPGPKey, 1, "not an armored"},
		{"key body not base64", func(o *Organisation) {
			o.Contacts = []Contact{{Email: "a@b.be", Role: "abuse", PGPKey: pgpBegin + "\n\nnot base64!\n" + pgpEnd}}
		}, FieldContactPGPKey, 1, "not base64"},
		{"same mailbox and role twice", func(o *Organisation) {
			o.Contacts = []Contact{{Email: "a@b.be", Role: "abuse", Name: "A"}, {Email: "a@b.be", Role: "abuse", Name: "B"}}
		}, FieldContactEmail, 2, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.change(&o)
			err := Normalize(&o)
			var fes FieldErrors
			if !errors.As(err, &fes) || len(fes) != 1 {
				t.Fatalf("Normalize = %v, want one FieldError", err)
			}
			fe := fes[0]
			if fe.Field != tt.field || fe.Contact != tt.contact || !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("got %+v, want field %s, contact %d, reason with %q", fe, tt.field, tt.contact, tt.reason)
			}
			var one *FieldError
			if !errors.As(err, &one) || one != fe {
				t.Errorf("errors.As does not find the *FieldError")
			}
		})
	}
	t.Run("all at once", func(t *testing.T) {
		o := Organisation{Handle: "X Y", Country: "XX", Networks: prefixes("10.0.0.1/8"),
			Contacts: []Contact{{Email: "nope"}}}
		var fes FieldErrors
		if err := Normalize(&o); !errors.As(err, &fes) || len(fes) != 6 {
			t.Fatalf("want 6 problems (handle, name, country, network, e-mail, role), got %v", err)
		}
	})
}

func TestParseNetworkAndASN(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1/32",
		" 2001:db8::1 ":        "2001:db8::1/128",
		"::ffff:192.0.2.1":     "192.0.2.1/32",
		"192.0.2.0/24":         "192.0.2.0/24",
		"192.0.2.7/24":         "192.0.2.7/24", // refused later, by Normalize
		"2001:db8::/32":        "2001:db8::/32",
		"192.0.2.0/33":         "",
		"fe80::1%eth0":         "",
		"example.be":           "",
		"192.0.2.0/24 garbage": "",
	} {
		p, err := ParseNetwork(in)
		if want == "" {
			if err == nil {
				t.Errorf("ParseNetwork(%q) = %v, want an error", in, p)
			}
			continue
		}
		if err != nil || p.String() != want {
			t.Errorf("ParseNetwork(%q) = %v, %v, want %s", in, p, err, want)
		}
	}
	for in, want := range map[string]uint32{
		"64496": 64496, "AS64496": 64496, "as64496": 64496, " AS4294967295 ": 4294967295,
		"0": 0, "AS0": 0, "4294967296": 0, "AS": 0, "-1": 0, "AS 64496": 0, "64496.1": 0, "": 0,
	} {
		got, err := ParseASN(in)
		if (want == 0) != (err != nil) || got != want {
			t.Errorf("ParseASN(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
}

// TestNormalizeIsStoreForm checks that the two normalisers agree: what
// Normalize accepts is already in the form the stores keep, so
// StoreForm leaves it as it is.
func TestNormalizeIsStoreForm(t *testing.T) {
	for _, tc := range []struct {
		name string
		org  Organisation
	}{
		{"empty lists", Organisation{Handle: "a", Name: "A"}},
		{"repeats and order", Organisation{Handle: "b", Name: "B",
			Networks: prefixes("2001:db8::/32", "192.0.2.0/24", "192.0.2.0/24", "198.51.100.7"),
			ASNs:     []uint32{64500, 64496, 64500},
			Domains:  []string{"Example.BE.", "b.example", "example.be"}}},
		{"IPv4-mapped network", Organisation{Handle: "c", Name: "C",
			Networks: []netip.Prefix{netip.MustParsePrefix("::ffff:192.0.2.0/120")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.org
			if err := Normalize(&o); err != nil {
				t.Fatal(err)
			}
			again := o
			if err := StoreForm(&again); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, o) {
				t.Errorf("StoreForm changed Normalize's result:\n got %+v\nwant %+v", again, o)
			}
		})
	}
}
