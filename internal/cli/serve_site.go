package cli

import (
	"fmt"
	"net/http"
	"net/mail"

	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/site"
)

// siteHandler builds the public website over the store's publications,
// as the site: section configures it.
func (a *app) siteHandler() (http.Handler, error) {
	return newSite(a.cfg, a.store.Publications)
}

// newSite builds the public website of cfg over src; `vigil serve` and
// `vigil bench site` share it.
func newSite(cfg config.Config, src site.Source) (*site.Site, error) {
	cat, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	sc := cfg.Site
	base := sc.BaseURL
	if base == "" {
		base = cfg.PublicURL
	}
	if base == "" {
		scheme := "http"
		if cfg.TLS.Enabled() {
			scheme = "https"
		}
		base = scheme + "://" + cfg.Listen
	}
	contacts := sc.Contacts
	if len(contacts) == 0 {
		// notify.from may carry a display name: the address alone.
		if addr, err := mail.ParseAddress(cfg.Notify.From); err == nil {
			contacts = []string{"mailto:" + addr.Address}
		}
	}
	s, err := site.New(site.Deps{Source: src, Catalog: cat, BaseURL: base, Name: sc.Name, Languages: sc.Languages,
		Severities: cfg.Publishing.Rules().Severities,
		SecurityTxt: site.SecurityTxt{Contacts: contacts, Encryption: sc.Encryption, Policy: sc.Policy,
			Acknowledgments: sc.Acknowledgments, Hiring: sc.Hiring, Validity: sc.SecurityTxtValidity}})
	if err != nil {
		return nil, fmt.Errorf("public site: %w", err)
	}
	return s, nil
}
