package cli

import (
	"net/http"
	"net/mail"

	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/site"
)

// siteHandler builds the public website over the store's publications,
// as the site: section configures it, at base.
func (a *app) siteHandler(base string) (http.Handler, error) {
	cfg := a.cfg
	cfg.Site.BaseURL = base
	return newSite(cfg, a.store.Publications)
}

// siteBase is where readers reach the public site: site.base_url, else
// the demo's https address, else public_url, else the address the web
// listener got (listenWeb), else the listen address.
func (a *app) siteBase() string {
	switch {
	case a.cfg.Site.BaseURL != "":
		return a.cfg.Site.BaseURL
	case a.demoHTTPS != "":
		return a.demoHTTPS
	case a.cfg.PublicURL == "" && a.webBase != "":
		return a.webBase
	}
	return siteBaseOf(a.cfg)
}

// newSite builds the public website of cfg over src; `vigil serve` and
// `vigil bench site` share it.
func newSite(cfg config.Config, src site.Source) (*site.Site, error) {
	cat := i18n.Embedded()
	sc := cfg.Site
	base := sc.BaseURL
	if base == "" {
		base = siteBaseOf(cfg)
	}
	contacts := sc.Contacts
	if len(contacts) == 0 {
		// notify.from may carry a display name: the address alone.
		if addr, err := mail.ParseAddress(cfg.Notify.From); err == nil {
			contacts = []string{"mailto:" + addr.Address}
		}
	}
	s, err := site.New(site.Deps{Source: src, Catalog: cat, BaseURL: base, Name: sc.Name, Languages: sc.Languages,
		Severities: cfg.Publishing.Rules().Severities, Newsletter: newsletterLanguages(cfg),
		SecurityTxt: site.SecurityTxt{Contacts: contacts, Encryption: sc.Encryption, Policy: sc.Policy,
			Acknowledgments: sc.Acknowledgments, Hiring: sc.Hiring, Validity: sc.SecurityTxtValidity}})
	if err != nil {
		return nil, failedTo(err, "cli.start.site")
	}
	return s, nil
}

// newsletterLanguages are the languages of the newsletter's form, none
// when the newsletter is off.
func newsletterLanguages(cfg config.Config) []string {
	if !cfg.Newsletter.Enabled {
		return nil
	}
	return cfg.Newsletter.Languages
}

// siteBaseOf is the site's address without site.base_url: public_url, or
// the listen address.
func siteBaseOf(cfg config.Config) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	scheme := "http"
	if cfg.TLS.Enabled() {
		scheme = "https"
	}
	return scheme + "://" + cfg.Listen
}
