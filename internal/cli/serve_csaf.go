package cli

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/csaf"
)

// csafProvider is the CSAF 2.0 provider over the store's publications, at
// base (the public site's address): the team named as the site names it,
// documents signed with the team's key (notify's identity), each citing
// its page on the site.
func (a *app) csafProvider(base string) http.Handler {
	base = strings.TrimSuffix(base, "/")
	pub := csaf.Publisher{Name: a.cfg.Site.Name, Namespace: base, BaseURL: base, Version: Version,
		PageURL: func(p *publication.Publication, lang string) string {
			return base + "/" + url.PathEscape(lang) + "/p/" + url.PathEscape(p.Ident)
		}}
	return csaf.NewProvider(a.store.Publications, csaf.Config{Publisher: pub, Logger: a.log.With("component", "csaf"),
		Identity: func(ctx context.Context) (*pgpmime.Identity, error) { return notify.LoadIdentity(ctx, a.store) }})
}
