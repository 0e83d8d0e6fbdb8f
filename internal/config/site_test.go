package config

import (
	"slices"
	"testing"
	"time"
)

func TestSiteConfig(t *testing.T) {
	cfg, err := Load("testdata/site.good.yml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Site
	if s.BaseURL != "https://www.cert.example" || s.Name != "CERT Example" || !slices.Equal(s.Languages, []string{"nl", "fr", "en", "de"}) ||
		len(s.Contacts) != 2 || s.SecurityTxtValidity != 90*24*time.Hour || s.Policy == "" || s.Encryption == "" {
		t.Errorf("site read as %+v", s)
	}
	if d := Default().Site; !slices.Equal(d.Languages, []string{"en", "nl", "fr"}) || d.SecurityTxtValidity != 180*24*time.Hour {
		t.Errorf("default site %+v", d)
	}
}
