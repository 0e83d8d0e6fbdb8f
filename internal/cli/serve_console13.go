package cli

import "github.com/vigil-cert/vigil/internal/publication"

// publicationService is the publications' workflow over the app's
// database, as the console, the API and `vigil publication` use it.
func (a *app) publicationService() *publication.Service {
	return &publication.Service{Store: a.store.Publications, Audit: a.store}
}
