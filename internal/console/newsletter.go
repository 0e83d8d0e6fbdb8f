package console

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
)

// This file is the newsletter's public pages (issue 13): the
// subscription form per language, the confirmation link and the
// unsubscribe page, with the RFC 8058 one-click unsubscribe that mail
// programs post without a cookie or a form token.

// Message IDs of the newsletter's public pages.
const (
	msgTitleNewsletter             = "title.newsletter"
	msgTitleNewsletterDone         = "title.newsletter.done"
	msgTitleNewsletterConfirm      = "title.newsletter.confirm"
	msgTitleNewsletterConfirmed    = "title.newsletter.confirmed"
	msgTitleNewsletterUnsubscribe  = "title.newsletter.unsubscribe"
	msgTitleNewsletterUnsubscribed = "title.newsletter.unsubscribed"
	msgTitleNewsletterBadLink      = "title.newsletter.badlink"
)

// newsletterAccount is the name the form's limiter counts subscriptions
// under, so that the limit is per client address.
const newsletterAccount = "newsletter-form"

// newsletterPages is the running newsletter of the console.
type newsletterPages struct {
	service *newsletter.Service
	limiter *auth.Limiter
}

func newNewsletterPages(s *newsletter.Service) *newsletterPages {
	if s == nil {
		return nil
	}
	// Ten subscriptions from one client, then one every few minutes:
	// enough for a family behind one address, not for a mail bomb.
	p := auth.DefaultLimitPolicy()
	p.PairFailures, p.AddressFailures = 10, 10
	p.FirstDelay, p.MaxDelay, p.Forget = 5*time.Minute, 2*time.Hour, 6*time.Hour
	return &newsletterPages{service: s, limiter: auth.NewLimiter(p)}
}

func (c *Console) newsletterRoutes(m *http.ServeMux) {
	if c.newsletter == nil {
		return
	}
	m.HandleFunc("GET /newsletter/{lang}", c.anonymous(c.newsletterForm))
	m.HandleFunc("POST /newsletter/{lang}", c.anonymous(c.newsletterSubscribe))
	m.HandleFunc("GET /newsletter/confirm", c.anonymous(c.publicPage(c.newsletterConfirmPage)))
	m.HandleFunc("POST /newsletter/confirm", c.anonymous(c.publicPage(c.newsletterConfirm)))
	m.HandleFunc("GET /newsletter/unsubscribe", c.anonymous(c.publicPage(c.newsletterUnsubscribePage)))
	m.HandleFunc("POST /newsletter/unsubscribe", c.anonymous(c.publicPage(c.newsletterUnsubscribe)))
	c.subscriberRoutes(m)
}

// newsletterFormPage is the data of the form.
type newsletterFormPage struct {
	Address   string
	Warnings  bool
	Languages []languageLink
	Problems  []string
}

// newsletterLang takes the page's language from the path: one of the
// newsletter's languages, else not found.
func (c *Console) newsletterLang(w http.ResponseWriter, r *http.Request, v *visit) bool {
	lang := r.PathValue("lang")
	if !slices.Contains(c.newsletter.service.Config.Languages, lang) {
		c.notFound(w, r, v)
		return false
	}
	if c.catalog.Supported(lang) {
		v.lang = lang
	}
	return true
}

func (c *Console) newNewsletterFormPage(v *visit) newsletterFormPage {
	var p newsletterFormPage
	for _, l := range c.catalog.Languages() {
		if slices.Contains(c.newsletter.service.Config.Languages, l.Code) {
			p.Languages = append(p.Languages, languageLink{Code: l.Code, Name: l.Name, Current: l.Code == v.lang})
		}
	}
	return p
}

func (c *Console) newsletterForm(w http.ResponseWriter, r *http.Request, v *visit) {
	if !c.newsletterLang(w, r, v) {
		return
	}
	c.render(w, r, v, http.StatusOK, "newsletter", msgTitleNewsletter, c.newNewsletterFormPage(v), "", "")
}

func (c *Console) newsletterSubscribe(w http.ResponseWriter, r *http.Request, v *visit) {
	if !c.newsletterLang(w, r, v) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if token := r.PostFormValue("csrf"); v.signedIn() && !auth.CheckCSRF(v.session, token) ||
		!v.signedIn() && !c.sessions.CheckFormToken(r, token) {
		c.forbiddenCSRF(w, r, v)
		return
	}
	p := c.newNewsletterFormPage(v)
	p.Address, p.Warnings = r.PostFormValue("address"), r.PostFormValue("warnings") == "yes"
	attempt, err := c.newsletter.limiter.Begin(newsletterAccount, reportClient(r))
	if err != nil {
		minutes := 1
		var te *auth.ThrottledError
		if errors.As(err, &te) {
			minutes = te.RetryMinutes()
			w.Header().Set("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
		}
		p.Problems = []string{c.catalog.Plural(v.lang, msgReportErrThrottled, minutes)}
		c.render(w, r, v, http.StatusTooManyRequests, "newsletter", msgTitleNewsletter, p, "", "")
		return
	}
	err = c.newsletter.service.Subscribe(r.Context(), p.Address, v.lang, p.Warnings)
	var ie *publication.InputError
	if errors.As(err, &ie) {
		c.newsletter.limiter.Passed(attempt)
		p.Problems = []string{ie.Message.In(c.catalog, v.lang)}
		c.render(w, r, v, http.StatusBadRequest, "newsletter", msgTitleNewsletter, p, "", "")
		return
	}
	if err != nil {
		c.newsletter.limiter.Passed(attempt)
		c.fail(w, r, v, err)
		return
	}
	// Counted, whether or not a mail went: the answer is the same.
	c.newsletter.limiter.Failed(attempt)
	c.render(w, r, v, http.StatusOK, "newsletter_done", msgTitleNewsletterDone, nil, "", "")
}

// newsletterBadLink answers a link that does not work.
func (c *Console) newsletterBadLink(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	if !errors.Is(err, newsletter.ErrToken) {
		c.fail(w, r, v, err)
		return
	}
	// The way to a new link: the form in the page's language, or the
	// newsletter's first.
	formLang := c.newsletter.service.Config.Languages[0]
	if slices.Contains(c.newsletter.service.Config.Languages, v.lang) {
		formLang = v.lang
	}
	c.render(w, r, v, http.StatusNotFound, "newsletter_done", msgTitleNewsletterBadLink, newsletterDonePage{BadLink: true, FormLang: formLang}, "", "")
}

// newsletterDonePage is the data of the pages after a link.
type newsletterDonePage struct {
	BadLink, Confirmed, Unsubscribed bool
	Address, Token                   string
	FormLang                         string
}

// subscriberLang shows the page in the subscriber's language unless the
// visitor chose another with ?lang=.
func (c *Console) subscriberLang(r *http.Request, v *visit, s newsletter.Subscriber) {
	if r.URL.Query().Get("lang") == "" && c.catalog.Supported(s.Lang) {
		v.lang = s.Lang
	}
}

// newsletterConfirmPage is the confirmation link: it shows the button
// that confirms and changes nothing, since mail gateways fetch the links
// of the mails they scan and a GET that confirmed would defeat the
// double opt-in.
func (c *Console) newsletterConfirmPage(w http.ResponseWriter, r *http.Request, v *visit) {
	token := r.URL.Query().Get("t")
	s, err := c.newsletter.service.CheckConfirm(r.Context(), token)
	if err != nil {
		c.newsletterBadLink(w, r, v, err)
		return
	}
	c.subscriberLang(r, v, s)
	c.render(w, r, v, http.StatusOK, "newsletter_confirm", msgTitleNewsletterConfirm,
		newsletterDonePage{Address: newsletter.MaskAddress(s.Address), Token: token}, "", "")
}

// newsletterConfirm is the confirmation page's button. It takes no form
// token: the link's token is the secret that authorises it, which a
// forged cross-site post cannot know, and a reader whose browser keeps
// no cookie can still confirm.
func (c *Console) newsletterConfirm(w http.ResponseWriter, r *http.Request, v *visit) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	s, err := c.newsletter.service.Confirm(r.Context(), r.PostFormValue("t"))
	if err != nil {
		c.newsletterBadLink(w, r, v, err)
		return
	}
	c.subscriberLang(r, v, s)
	c.render(w, r, v, http.StatusOK, "newsletter_done", msgTitleNewsletterConfirmed, newsletterDonePage{Confirmed: true}, "", "")
}

func (c *Console) newsletterUnsubscribePage(w http.ResponseWriter, r *http.Request, v *visit) {
	token := r.URL.Query().Get("t")
	s, err := c.newsletter.service.CheckUnsubscribe(r.Context(), token)
	if err != nil {
		c.newsletterBadLink(w, r, v, err)
		return
	}
	c.subscriberLang(r, v, s)
	c.render(w, r, v, http.StatusOK, "newsletter_unsubscribe", msgTitleNewsletterUnsubscribe,
		newsletterDonePage{Address: s.Address, Token: token}, "", "")
}

// newsletterUnsubscribe unsubscribes: from the page's button (with the
// form token), or by the RFC 8058 one-click post a mail program sends
// with the body List-Unsubscribe=One-Click and no cookie at all. The
// link's token is what authorises either.
func (c *Console) newsletterUnsubscribe(w http.ResponseWriter, r *http.Request, v *visit) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	oneClick := r.PostFormValue("List-Unsubscribe") == "One-Click"
	if token := r.PostFormValue("csrf"); !oneClick && (v.signedIn() && !auth.CheckCSRF(v.session, token) ||
		!v.signedIn() && !c.sessions.CheckFormToken(r, token)) {
		c.forbiddenCSRF(w, r, v)
		return
	}
	token := r.URL.Query().Get("t")
	if token == "" {
		token = r.PostFormValue("t")
	}
	s, err := c.newsletter.service.Unsubscribe(r.Context(), token)
	if err != nil {
		c.newsletterBadLink(w, r, v, err)
		return
	}
	c.subscriberLang(r, v, s)
	c.render(w, r, v, http.StatusOK, "newsletter_done", msgTitleNewsletterUnsubscribed,
		newsletterDonePage{Unsubscribed: true, FormLang: s.Lang}, "", "")
}
