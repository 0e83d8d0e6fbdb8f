package products

import (
	"errors"
	"testing"
)

func TestParseCPE(t *testing.T) {
	good := []struct {
		in                     string
		vendor, product, value string // value: Unquoted product
	}{
		{"cpe:2.3:a:apache:http_server:2.4.58:*:*:*:*:*:*:*", "apache", "http_server", "http_server"},
		{"CPE:2.3:A:Microsoft:Internet_Explorer:8.0.6001:beta:*:*:*:*:*:*", "microsoft", "internet_explorer", "internet_explorer"},
		{`cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:-:*:*:online:win2003:x64:*`, "hp", "insight_diagnostics", "insight_diagnostics"},
		{`cpe:2.3:a:foo\\bar:big\$money_2010:*:*:*:*:special:ipod_touch:80gb:*`, `foo\\bar`, `big\$money_2010`, `big$money_2010`},
		{`cpe:2.3:a:nodejs:node.js:18.0.0:*:*:*:*:*:*:*`, "nodejs", "node.js", "node.js"},
		{`cpe:2.3:a:vendor\:x:prod:1.0:*:*:*:*:*:*:*`, `vendor\:x`, "prod", "prod"},
		{`cpe:2.3:o:linux:linux_kernel:5.*:*:*:*:*:*:*:*`, "linux", "linux_kernel", "linux_kernel"},
		{`cpe:2.3:a:*:openssl:1.1.1k:*:*:*:*:*:*:*`, "*", "openssl", "openssl"},
		{`cpe:2.3:a:x:??ab:1:*:*:*:*:*:*:*`, "x", "??ab", "??ab"},
	}
	for _, tt := range good {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ParseCPE(tt.in)
			if err != nil {
				t.Fatalf("ParseCPE: %v", err)
			}
			if c.Vendor() != tt.vendor || c.Product() != tt.product || c.Unquoted(2) != tt.value {
				t.Errorf("vendor %q product %q (%q), want %q %q (%q)", c.Vendor(), c.Product(), c.Unquoted(2), tt.vendor, tt.product, tt.value)
			}
			again, err := ParseCPE(c.String())
			if err != nil || again != c {
				t.Errorf("String() %q parses to %v, %v", c.String(), again, err)
			}
		})
	}
	bad := []struct{ in, attribute string }{
		{"cpe:/a:apache:http_server:2.4", ""},
		{"cpe:2.3:a:apache:http_server:2.4", ""},
		{"cpe:2.3:x:apache:http_server:2.4:*:*:*:*:*:*:*", "part"},
		{"cpe:2.3:a:apache:http server:2.4:*:*:*:*:*:*:*", "product"},
		{"cpe:2.3:a:apa*che:http_server:2.4:*:*:*:*:*:*:*", "vendor"},
		{"cpe:2.3:a:apache:http_server:2.4:*:*:*:*:*:*:*:extra", ""},
		{"cpe:2.3:a::http_server:2.4:*:*:*:*:*:*:*", "vendor"},
		{`cpe:2.3:a:apache:http_server:2.4:*:*:*:*:*:*:\`, ""},
		{`cpe:2.3:a:apache:http\a_server:2.4:*:*:*:*:*:*:*`, "product"},
		{"cpe:2.3:a:apache:http_server:2.4:*:*:*:*:*:*:a?b", "other"},
	}
	for _, tt := range bad {
		t.Run("bad "+tt.in, func(t *testing.T) {
			_, err := ParseCPE(tt.in)
			var ce *CPEError
			if !errors.As(err, &ce) {
				t.Fatalf("ParseCPE = %v, want a *CPEError", err)
			}
			if ce.Attribute != tt.attribute {
				t.Errorf("attribute %q, want %q (%v)", ce.Attribute, tt.attribute, err)
			}
		})
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"linux*", "linux_kernel", true},
		{"*kernel", "linux_kernel", true},
		{"*", "anything", true},
		{"??x", "abx", true},
		{"??x", "abcx", false},
		{"x??", "xab", true},
		{"x??", "xa", false},
		{"lin*", "lIN", true},
		{"*ux*", "linux_kernel", true},
		{"kernel*", "linux_kernel", false},
	}
	for _, tt := range tests {
		if got := wildcardMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %t", tt.pattern, tt.name, got)
		}
	}
}

func FuzzParseCPE(f *testing.F) {
	for _, s := range []string{"cpe:2.3:a:apache:http_server:2.4.58:*:*:*:*:*:*:*", `cpe:2.3:a:x\:y:*:-:*:*:*:*:*:*:*`, "cpe:2.3:", `cpe:2.3:\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCPE(s)
		if err != nil {
			return
		}
		again, err := ParseCPE(c.String())
		if err != nil || again != c {
			t.Errorf("%q: String() %q parses to %v, %v", s, c.String(), again, err)
		}
		wildcardMatch(c.Product(), c.Vendor())
	})
}
