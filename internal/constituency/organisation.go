package constituency

// The constituency's data: the organisations, their contacts and the
// change requests they send, and the store that keeps them (Organisations,
// kept in the database by internal/constituency/constituencydb).

import (
	"context"
	"net/netip"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

// Organisation is a constituent: a university, a ministry, a company the
// team serves, with what it owns (networks, AS numbers, domains) and who to
// tell when something is wrong there.
type Organisation struct {
	ID int64
	// Handle is the organisation's short name: unique, lower-case letters,
	// digits and '-', set at creation and never changed, because events
	// are tagged with it (extra.constituency) when they are stored; and
	// never given to another organisation after a delete (see
	// RetiredHandleError), so that it names one organisation for good.
	Handle   string
	Name     string
	Sector   string
	Country  string // ISO 3166-1 alpha-2, upper case; "" when unknown
	Language string // preferred language of its notifications: en, nl, fr, de
	Notes    string
	Networks []netip.Prefix // masked (192.0.2.0/24, never 192.0.2.7/24), sorted
	ASNs     []uint32       // sorted
	Domains  []string       // normalized FQDNs; each covers its subdomains; sorted
	Contacts []Contact
	Created  time.Time
	Updated  time.Time
	// Disabled organisations keep their data and history, and events are
	// still tagged with them, but they are sent no notifications (their
	// pending ones are held until they are enabled again) and their
	// portal accounts cannot sign in. Only SetOrganisationDisabled
	// changes it: creating, updating and importing leave it as it is.
	Disabled bool
}

// Contact roles.
const (
	ContactAbuse      = "abuse"
	ContactSecurity   = "security"
	ContactManagement = "management"
	ContactTechnical  = "technical"
)

// Contact is a person or mailbox of an organisation.
type Contact struct {
	ID    int64
	Name  string
	Email string
	Phone string
	Role  string // one of the Contact* roles
	// PGPKey is the contact's armored OpenPGP public key, "" when none.
	PGPKey string
	// Notify marks contacts that receive automatic notifications.
	Notify bool
}

// OrganisationQuery selects organisations, ordered by handle. Zero fields
// do not filter.
type OrganisationQuery struct {
	// Text matches a part of the handle, name, sector or a contact's e-mail,
	// case-insensitively.
	Text   string
	Limit  int // 0: all
	Offset int
}

// ImportResult counts what ImportOrganisations changed.
type ImportResult struct {
	Created, Updated, Deleted int
}

// ChangeRequest is a constituent's request to change its own record
// (contacts, networks), which only the team may edit.
type ChangeRequest struct {
	ID      int64
	OrgID   int64
	UserID  int64
	Actor   string // the requesting user's name
	Text    string
	Created time.Time
	// Done is set when the team has handled it.
	Done bool
}

// RetiredHandleError refuses an organisation whose handle an organisation
// had before it was deleted. A handle is never given again: stored events
// and the notification records name organisations by handle, and an
// organisation created later under an old one would come to see what was
// the other's. It matches store.ErrConflict with errors.Is.
type RetiredHandleError struct {
	Handle string
}

func (e *RetiredHandleError) Error() string {
	return "handle " + e.Handle + " belonged to a deleted organisation and is never given again; choose another short name"
}

// Is makes a retired handle a conflict for callers that only know that.
func (e *RetiredHandleError) Is(target error) bool { return target == store.ErrConflict }

// Organisations is the store of the organisations the team serves, which
// internal/constituency/constituencydb keeps in the database.
type Organisations interface {
	// CreateOrganisation stores o with its contacts; it sets o.ID, the
	// contacts' IDs, Created and Updated. store.ErrConflict on a taken handle,
	// a *RetiredHandleError (which is a store.ErrConflict too) on the handle
	// of a deleted organisation.
	// Networks, ASNs and domains are stored normalized, and set so in o
	// (see StoreForm, which also says what is refused).
	CreateOrganisation(ctx context.Context, o *Organisation) error
	// UpdateOrganisation replaces everything of the organisation o.ID but
	// its handle and Created (networks, ASNs, domains and contacts are
	// replaced as a whole; contacts keep their IDs when o carries them). It
	// sets Updated and the contacts' IDs. store.ErrNotFound when absent.
	UpdateOrganisation(ctx context.Context, o *Organisation) error
	// DeleteOrganisation removes an organisation with its networks,
	// ASNs, domains, contacts, notification policy, change requests and
	// pending notifications, and its entries in the event index: stored
	// events keep their extra.constituency, but no Organisation search
	// finds them any more. Its handle is retired: no organisation is ever
	// created under it again. store.ErrNotFound when absent; an error
	// wrapping store.ErrConflict while users belong to it (auth.User's
	// OrgID), who must be moved or deleted first.
	DeleteOrganisation(ctx context.Context, id int64) error
	// SetOrganisationDisabled disables the organisation id or enables it
	// again (see Organisation.Disabled) and bumps the constituency
	// version when that changes it. It reports whether it changed the
	// organisation, judged in the same transaction as the write.
	// store.ErrNotFound when absent.
	SetOrganisationDisabled(ctx context.Context, id int64, disabled bool) (bool, error)
	GetOrganisation(ctx context.Context, id int64) (Organisation, error)
	GetOrganisationByHandle(ctx context.Context, handle string) (Organisation, error)
	// ListOrganisations returns whole organisations (networks, ASNs,
	// domains, contacts included).
	ListOrganisations(ctx context.Context, q OrganisationQuery) ([]Organisation, error)
	CountOrganisations(ctx context.Context, q OrganisationQuery) (int64, error)
	// ImportOrganisations creates or updates (by handle) every organisation
	// of orgs in one transaction; with replace, organisations not in orgs
	// are deleted. Either all of it happens or none. An organisation equal
	// to the stored one is left alone and not counted; contacts without
	// IDs keep those of stored contacts with the same e-mail and role. A
	// handle given twice, or a deletion refused as in DeleteOrganisation,
	// is an error wrapping store.ErrConflict; a new organisation under a
	// retired handle a *RetiredHandleError.
	ImportOrganisations(ctx context.Context, orgs []Organisation, replace bool) (ImportResult, error)
	// ConstituencyVersion increases with every change to organisations, so
	// that every process can tell when to rebuild its lookup table.
	ConstituencyVersion(ctx context.Context) (int64, error)

	// AddChangeRequest stores r; it sets r.ID and Created (when zero).
	// store.ErrNotFound when r.OrgID is no organisation.
	AddChangeRequest(ctx context.Context, r *ChangeRequest) error
	// ListChangeRequests returns an organisation's requests (orgID 0: all),
	// newest first.
	ListChangeRequests(ctx context.Context, orgID int64, includeDone bool) ([]ChangeRequest, error)
	MarkChangeRequestDone(ctx context.Context, id int64) error
}
