package products

import (
	"errors"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication"
)

func advisory(products ...publication.Product) publication.Publication {
	return publication.Publication{Kind: publication.KindAdvisory, Status: publication.StatusPublished,
		Content: publication.Content{TLP: publication.TLPClear, Products: products}}
}

func declare(t *testing.T, d Declaration) Declaration {
	t.Helper()
	if err := Check(&d); err != nil {
		t.Fatalf("Check(%+v): %v", d, err)
	}
	return d
}

func TestConcerns(t *testing.T) {
	httpd := publication.Product{Vendor: "Apache", Product: "HTTP Server",
		Versions: []publication.VersionRange{{Introduced: "2.4.0", Fixed: "2.4.59"}}}
	log4j := publication.Product{PURL: "pkg:maven/org.apache.logging.log4j/log4j-core",
		Versions: []publication.VersionRange{{Introduced: "2.0-beta9", LastAffected: "2.14.1"}, {Version: "2.15.0"}}}
	kernel := publication.Product{CPE: "cpe:2.3:o:linux:linux_kernel:*:*:*:*:*:*:*:*",
		Versions: []publication.VersionRange{{Introduced: "5.10", Fixed: "5.10.200"}}}
	openssl := publication.Product{CPE: "cpe:2.3:a:openssl:openssl:3.0.7:*:*:*:*:*:*:*"}
	wild := publication.Product{CPE: "cpe:2.3:a:acme:router_*:*:*:*:*:*:*:*:*"}
	adv := advisory(httpd, log4j, kernel, openssl, wild)

	tests := []struct {
		name    string
		d       Declaration
		match   bool
		unknown bool
	}{
		{"typed name, other case and spacing", Declaration{Vendor: "apache", Product: "http-server", Version: "2.4.58"}, true, false},
		{"CPE of the typed product", Declaration{CPE: "cpe:2.3:a:apache:http_server:2.4.10:*:*:*:*:*:*:*"}, true, false},
		{"fixed version", Declaration{Vendor: "Apache", Product: "HTTP Server", Version: "2.4.59"}, false, false},
		{"before introduced", Declaration{Vendor: "Apache", Product: "HTTP Server", Version: "2.2.34"}, false, false},
		{"1.10 is not 1.9 (numbers, not text)", Declaration{Vendor: "Apache", Product: "HTTP Server", Version: "2.4.100"}, false, false},
		{"another vendor", Declaration{Vendor: "Nginx", Product: "HTTP Server", Version: "2.4.58"}, false, false},
		{"no version", Declaration{Product: "http server"}, true, true},
		{"PURL in the range", Declaration{PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}, true, false},
		{"PURL pre-release at the start", Declaration{PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.0-beta9"}, true, false},
		{"PURL before the pre-release", Declaration{PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.0-beta8"}, false, false},
		{"PURL exact version", Declaration{PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.15.0"}, true, false},
		{"PURL fixed", Declaration{PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1"}, false, false},
		{"PURL of another type", Declaration{PURL: "pkg:npm/log4j-core@2.14.1"}, false, false},
		{"PURL of another namespace", Declaration{PURL: "pkg:maven/org.example/log4j-core@2.14.1"}, false, false},
		{"CPE with a v prefix", Declaration{CPE: "cpe:2.3:o:linux:linux_kernel:v5.10.150:*:*:*:*:*:*:*"}, true, false},
		{"CPE of another part", Declaration{CPE: "cpe:2.3:a:linux:linux_kernel:5.10.150:*:*:*:*:*:*:*"}, false, false},
		{"CPE version in the advisory's CPE", Declaration{Vendor: "OpenSSL", Product: "OpenSSL", Version: "3.0.7"}, true, false},
		{"1.0 == 1.0.0 in the CPE version", Declaration{Vendor: "OpenSSL", Product: "OpenSSL", Version: "3.0.7.0"}, true, false},
		{"another version than the CPE's", Declaration{Vendor: "OpenSSL", Product: "OpenSSL", Version: "3.0.8"}, false, false},
		{"wildcard product", Declaration{Vendor: "ACME", Product: "Router 5000", Version: "1"}, true, false},
		{"wildcard product, other vendor", Declaration{Vendor: "Other", Product: "Router 5000", Version: "1"}, false, false},
		{"unrelated", Declaration{Product: "Word"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := declare(t, tt.d)
			got := Concerns(adv, []Declaration{d})
			if (len(got) == 1) != tt.match {
				t.Fatalf("Concerns = %+v, want a match: %t", got, tt.match)
			}
			if tt.match && got[0].VersionUnknown != tt.unknown {
				t.Errorf("VersionUnknown = %t, want %t", got[0].VersionUnknown, tt.unknown)
			}
		})
	}
	t.Run("only published advisories concern anyone", func(t *testing.T) {
		d := declare(t, Declaration{Product: "http server"})
		for _, p := range []publication.Publication{
			{Kind: publication.KindWarning, Status: publication.StatusPublished, Content: adv.Content},
			{Kind: publication.KindAdvisory, Status: publication.StatusDraft, Content: adv.Content},
			{Kind: publication.KindAdvisory, Status: publication.StatusWithdrawn, Content: adv.Content},
		} {
			if got := Concerns(p, []Declaration{d}); got != nil {
				t.Errorf("%s %s: Concerns = %+v", p.Kind, p.Status, got)
			}
		}
	})
}

func TestInRange(t *testing.T) {
	tests := []struct {
		v    string
		r    publication.VersionRange
		want bool
	}{
		{"1.0", publication.VersionRange{Version: "1.0.0"}, true},
		{"1.0.1", publication.VersionRange{Version: "1.0"}, false},
		{"0.1", publication.VersionRange{Introduced: "0", Fixed: "1.0"}, true},
		{"1.0", publication.VersionRange{Fixed: "1.0"}, false},
		{"1.0-rc1", publication.VersionRange{Fixed: "1.0"}, true},
		{"3.0", publication.VersionRange{Introduced: "2.0"}, true},
		{"2.5", publication.VersionRange{Introduced: "2.0", LastAffected: "2.5"}, true},
		{"2.5.1", publication.VersionRange{Introduced: "2.0", LastAffected: "2.5"}, false},
		{"2.5", publication.VersionRange{Version: "2.0", Fixed: "3"}, true},
		{"1.5", publication.VersionRange{Version: "2.0", Fixed: "3"}, false},
		{"9", publication.VersionRange{Version: "*"}, true},
	}
	for _, tt := range tests {
		if got := InRange(tt.v, tt.r); got != tt.want {
			t.Errorf("InRange(%q, %+v) = %t", tt.v, tt.r, got)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Run("CPE fills the names", func(t *testing.T) {
		d := declare(t, Declaration{CPE: " cpe:2.3:a:Apache:HTTP_Server:2.4.58:*:*:*:*:*:*:* "})
		if d.CPE != "cpe:2.3:a:apache:http_server:2.4.58:*:*:*:*:*:*:*" || d.Vendor != "apache" || d.Product != "http_server" || d.Version != "2.4.58" {
			t.Errorf("got %+v", d)
		}
	})
	t.Run("PURL fills the names", func(t *testing.T) {
		d := declare(t, Declaration{PURL: "pkg:npm/%40angular/core@16.2.0"})
		if d.Vendor != "@angular" || d.Product != "core" || d.Version != "16.2.0" || d.Kind() != "purl" {
			t.Errorf("got %+v", d)
		}
	})
	bad := []struct {
		name  string
		d     Declaration
		field string
	}{
		{"nothing", Declaration{Vendor: "x"}, "product"},
		{"both", Declaration{CPE: "cpe:2.3:a:x:y:*:*:*:*:*:*:*:*", PURL: "pkg:npm/y"}, "cpe"},
		{"bad CPE", Declaration{CPE: "cpe:2.3:a:x"}, "cpe"},
		{"CPE of any product", Declaration{CPE: "cpe:2.3:a:x:*:*:*:*:*:*:*:*:*"}, "cpe"},
		{"bad PURL", Declaration{PURL: "npm/y"}, "purl"},
		{"long name", Declaration{Product: string(make([]byte, MaxNameBytes+1))}, "product"},
		{"long note", Declaration{Product: "x", Note: string(make([]byte, MaxNoteBytes+1))}, "note"},
		{"not UTF-8", Declaration{Product: "x\xff"}, "product"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.d
			err := Check(&d)
			var ie *publication.InputError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Errorf("Check = %v, want a refusal of %s", err, tt.field)
			}
		})
	}
}

func TestProductKeys(t *testing.T) {
	keys, all := ProductKeys([]publication.Product{{Vendor: "Apache", Product: "HTTP Server"},
		{CPE: "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*"}, {PURL: "pkg:npm/Left-Pad"}})
	if all || len(keys) != 2 || keys[0] != "http_server" || keys[1] != "left_pad" {
		t.Errorf("ProductKeys = %q, %t", keys, all)
	}
	if _, all := ProductKeys([]publication.Product{{CPE: "cpe:2.3:a:acme:*:*:*:*:*:*:*:*:*"}}); !all {
		t.Error("a CPE of any product does not ask for all")
	}
}
