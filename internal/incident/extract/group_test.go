package extract

import (
	"reflect"
	"testing"
)

func TestGroupingKey(t *testing.T) {
	for _, tc := range []struct {
		o    Observable
		key  string
		want bool
	}{
		{Observable{URL, "HTTPS://Evil.COM:443/Login?a=1#top"}, "url:https://evil.com/Login?a=1", true},
		{Observable{URL, "http://evil.com"}, "url:http://evil.com/", true},
		{Observable{URL, "http://evil.com:80?x"}, "url:http://evil.com/?x", true},
		{Observable{URL, "http://evil.com:8080/"}, "url:http://evil.com:8080/", true},
		{Observable{URL, "ftp://files.evil.com:21/x"}, "url:ftp://files.evil.com/x", true},
		{Observable{URL, "http://paypal.com@evil.com/"}, "url:http://paypal.com@evil.com/", true},
		{Observable{URL, "http://[2001:db8::1]:80/"}, "", false},
		{Observable{URL, "http://192.168.1.1/admin"}, "", false},
		{Observable{URL, "http://8.8.8.8/x"}, "url:http://8.8.8.8/x", true},
		{Observable{URL, "no scheme"}, "", false},
		{Observable{Domain, "Evil.com."}, "domain:evil.com", true},
		{Observable{Domain, "gmail.com"}, "", false},
		{Observable{Domain, "outlook.com"}, "", false},
		{Observable{Domain, "bit.ly"}, "", false},
		{Observable{Domain, "github.io"}, "", false},
		{Observable{Domain, "evil.github.io"}, "domain:evil.github.io", true},
		{Observable{Email, "Phisher@Gmail.com"}, "email:phisher@gmail.com", true},
		{Observable{IP, "8.8.8.8"}, "ip:8.8.8.8", true},
		{Observable{IP, "::ffff:8.8.4.4"}, "ip:8.8.4.4", true},
		{Observable{IP, "10.1.2.3"}, "", false},
		{Observable{IP, "192.168.1.1"}, "", false},
		{Observable{IP, "127.0.0.1"}, "", false},
		{Observable{IP, "100.64.0.1"}, "", false},
		{Observable{IP, "169.254.1.1"}, "", false},
		{Observable{IP, "::1"}, "", false},
		{Observable{IP, "fe80::1"}, "", false},
		{Observable{IP, "fd00::1"}, "", false},
		{Observable{IP, "not an ip"}, "", false},
		{Observable{SHA256, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}, "", false},
		{Observable{MD5, "0123456789abcdef0123456789abcdef"}, "md5:0123456789abcdef0123456789abcdef", true},
		{Observable{Phone, "+3221234567"}, "phone:+3221234567", true},
		{Observable{CVE, "CVE-2021-44228"}, "", false},
		{Observable{"other", "x"}, "", false},
	} {
		key, ok := GroupingKey(tc.o)
		if key != tc.key || ok != tc.want {
			t.Errorf("GroupingKey(%v) = %q, %v; want %q, %v", tc.o, key, ok, tc.key, tc.want)
		}
	}
}

// TestGroupingSameCampaign checks that the same phishing link written in
// different ways by different reporters gives one key.
func TestGroupingSameCampaign(t *testing.T) {
	texts := []string{
		"hxxps://evil[.]com/login",
		"HTTPS://EVIL.COM:443/login#anchor",
		"see <https://evil.com/login>.",
		`<a href="https://evil.com/login">Your bank</a>`,
	}
	keys := map[string]bool{}
	for i, text := range texts {
		found := Find(text)
		if i == 3 {
			found = FromHTML(text)
		}
		key, ok := GroupingKey(found[0])
		if !ok {
			t.Fatalf("%q: %v does not group", text, found[0])
		}
		keys[key] = true
	}
	if len(keys) != 1 {
		t.Errorf("keys %v, want one", keys)
	}
}

func TestPublic(t *testing.T) {
	got := Public(Find("from 10.0.0.1, 8.8.8.8, ::1, http://192.168.1.1/x, http://203.0.114.1/y and evil.com"))
	want := obs("ip:8.8.8.8", "url:http://203.0.114.1/y", "ip:203.0.114.1", "domain:evil.com")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Public:%s\nwant:%s", show(got), show(want))
	}
}
