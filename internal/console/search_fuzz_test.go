package console

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseSearch feeds arbitrary query strings to the search form parser:
// it must never panic, and a field it accepts must not be reported as a
// problem too.
func FuzzParseSearch(f *testing.F) {
	f.Add("ip=192.0.2.1&cidr=192.0.2.0/24&asn=AS64496")
	f.Add("fqdn=xn--bcher-kva.example&url=https://a.example/x&hash=d41d8cd98f00b204e9800998ecf8427e")
	f.Add("from=2025-03-01T12:00&to=2025-03-02&tlp=amber%2Bstrict&taxonomy=vulnerable&type=ddos-amplifier")
	f.Add("cidr=::ffff:1.2.3.4/128&ip=fe80::1%25eth0")
	f.Fuzz(func(t *testing.T, raw string) {
		values, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, form, problems := parseSearch(values)
		for field := range problems {
			if form[field] == "" {
				t.Fatalf("problem reported for empty field %s", field)
			}
		}
		if _, bad := problems["cidr"]; !bad && form["cidr"] != "" && !q.Prefix.IsValid() {
			t.Fatalf("cidr %q accepted but invalid", form["cidr"])
		}
		if _, bad := problems["ip"]; !bad && form["ip"] != "" && !q.IP.IsValid() {
			t.Fatalf("ip %q accepted but invalid", form["ip"])
		}
		if strings.ContainsAny(form.encode(), "\n\r") {
			t.Fatal("encoded query carries a line break")
		}
	})
}
