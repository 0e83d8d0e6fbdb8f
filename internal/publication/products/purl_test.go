package products

import (
	"errors"
	"reflect"
	"testing"
)

func TestParsePURL(t *testing.T) {
	good := []struct {
		in   string
		want PURL
		out  string
	}{
		{"pkg:npm/left-pad@1.3.0", PURL{Type: "npm", Name: "left-pad", Version: "1.3.0"}, "pkg:npm/left-pad@1.3.0"},
		{"pkg:npm/%40angular/core@16.2.0", PURL{Type: "npm", Namespace: "@angular", Name: "core", Version: "16.2.0"}, "pkg:npm/%40angular/core@16.2.0"},
		{"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar", PURL{Type: "maven", Namespace: "org.apache.logging.log4j", Name: "log4j-core", Version: "2.14.1", Qualifiers: map[string]string{"type": "jar"}},
			"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar"},
		{"pkg:PyPI/Django_Rest@3.0", PURL{Type: "pypi", Name: "django-rest", Version: "3.0"}, "pkg:pypi/django-rest@3.0"},
		{"pkg:GitHub/Package-URL/purl-spec@244fd47e07d1004#everybody/loves/dogs", PURL{Type: "github", Namespace: "package-url", Name: "purl-spec", Version: "244fd47e07d1004", Subpath: "everybody/loves/dogs"},
			"pkg:github/package-url/purl-spec@244fd47e07d1004#everybody/loves/dogs"},
		{"pkg:deb/debian/curl@7.50.3-1?Distro=Jessie&arch=i386", PURL{Type: "deb", Namespace: "debian", Name: "curl", Version: "7.50.3-1", Qualifiers: map[string]string{"arch": "i386", "distro": "Jessie"}},
			"pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=Jessie"},
		{"pkg:golang/google.golang.org/genproto#googleapis/api/annotations", PURL{Type: "golang", Namespace: "google.golang.org", Name: "genproto", Subpath: "googleapis/api/annotations"},
			"pkg:golang/google.golang.org/genproto#googleapis/api/annotations"},
		{"pkg://docker/library/nginx", PURL{Type: "docker", Namespace: "library", Name: "nginx"}, "pkg:docker/library/nginx"},
	}
	for _, tt := range good {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePURL(tt.in)
			if err != nil {
				t.Fatalf("ParsePURL: %v", err)
			}
			if !reflect.DeepEqual(p, tt.want) {
				t.Errorf("got %+v, want %+v", p, tt.want)
			}
			if p.String() != tt.out {
				t.Errorf("String() = %q, want %q", p.String(), tt.out)
			}
		})
	}
	bad := []struct{ in, part string }{
		{"npm/left-pad", "scheme"},
		{"pkg:left-pad", "type"},
		{"pkg:n%pm/left-pad", "type"},
		{"pkg:npm/", "name"},
		{"pkg:npm/left-pad@", "version"},
		{"pkg:npm/left-pad@1.0?a", "qualifiers"},
		{"pkg:npm/left-pad@1.0?a=1&A=2", "qualifiers"},
		{"pkg:npm/a%zz", "namespace"},
	}
	for _, tt := range bad {
		t.Run("bad "+tt.in, func(t *testing.T) {
			_, err := ParsePURL(tt.in)
			var pe *PURLError
			if !errors.As(err, &pe) || pe.Part != tt.part {
				t.Errorf("ParsePURL = %v, want a refusal of the %s", err, tt.part)
			}
		})
	}
}

func FuzzParsePURL(f *testing.F) {
	for _, s := range []string{"pkg:npm/%40angular/core@16.2.0?x=1#a/b", "pkg:a/b@c@d", "pkg:/", "pkg:x/%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePURL(s)
		if err != nil {
			return
		}
		again, err := ParsePURL(p.String())
		if err != nil || again.String() != p.String() {
			t.Errorf("%q: String() %q parses to %+v, %v", s, p.String(), again, err)
		}
	})
}
