// Package database puts Vigil's database together: the event store
// (SQLite or PostgreSQL, internal/store) and, on the same connection, the
// data each capability keeps in tables of its own. Adding a capability
// that keeps data is adding its schema to Schemas and its store to DB.
package database

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/feedadmin/feedadmindb"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/alert/alertdb"
	"github.com/vigil-cert/vigil/internal/incident/incidentdb"
	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/mailin/mailindb"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/notify/falsepositive"
	"github.com/vigil-cert/vigil/internal/notify/notifydb"
	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/publication/newsletter/newsletterdb"
	"github.com/vigil-cert/vigil/internal/publication/products/productsdb"
	"github.com/vigil-cert/vigil/internal/publication/pubdb"
	"github.com/vigil-cert/vigil/internal/savedsearch"
	"github.com/vigil-cert/vigil/internal/savedsearch/savedsearchdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// Schemas are the capabilities' schemas, each after those its tables
// refer to (the accounts' users, the notification policies, the outbox's
// messages and what was told to whom refer to the constituency's
// organisations, the saved searches to the users).
var Schemas = []sqlkit.Schema{constituencydb.Schema, authdb.Schema, outboxdb.Schema, notifydb.Schema, told.Schema, savedsearchdb.Schema, feedadmindb.Schema, incidentdb.Schema, mailindb.Schema, falsepositive.Schema, alertdb.Schema, pubdb.Schema,
	newsletterdb.Schema, productsdb.Schema}

// DeleteHooks are the capabilities' parts in deleting an organisation,
// run by the constituency in the delete's transaction: the accounts refuse
// while one belongs to it; the notification settings, what was told to
// it, the queue of events to notify it of and the event index forget what
// they keep under it (the outbox keeps its messages, the history of what
// was sent). Each capability that keeps data under an organisation adds
// its hook here.
var DeleteHooks = []constituencydb.DeleteHook{
	{Name: "accounts", Refuse: authdb.RefuseOrganisationDelete},
	{Name: "notification policy", Forget: notifydb.ForgetOrganisation},
	{Name: "notifier", Forget: told.ForgetOrganisation},
	{Name: "notification queue", Forget: store.ForgetOrganisationQueue},
	{Name: "event index", Forget: store.ForgetOrganisationEvents},
	{Name: "incidents", Refuse: incidentdb.RefuseOrganisationDelete, Forget: incidentdb.ForgetOrganisation},
	{Name: "pipeline alerts", Forget: alertdb.ForgetOrganisation},
}

// Constituency returns the constituency kept on db with DeleteHooks, as
// the database has it.
func Constituency(db sqlkit.DB) *constituencydb.Store {
	return constituencydb.New(db, DeleteHooks...)
}

// Notifier is the notifier's data as notifydb keeps it: its settings,
// what was told to whom, the commit of a pass, and the observations
// marked false positives.
type Notifier interface {
	notify.Settings
	notify.Records
	notify.FalsePositives
}

// DB is Vigil's database: the event store, and each capability's data on
// its connection. Consumers take the narrow interfaces they need; DB
// satisfies them all.
type DB struct {
	store.Store
	auth.Accounts
	constituency.Organisations
	Notifier
	outbox.Messages
	savedsearch.Searches
	feedadmin.Data
	incident.Incidents
	mailin.Mails
	// Alerts are the pipeline alerts (a field, not embedded: its
	// methods are the alerts', not the database's).
	Alerts *alertdb.Store
	// Newsletter is the newsletter's subscribers, issues and sends (a
	// field: its methods are the newsletter's).
	Newsletter *newsletterdb.Store
	// Publications are the advisories, warnings, news and digests, their
	// history and the publication outbox (a field too).
	Publications *pubdb.Store
	// Products are what the constituents run and which advisories they
	// were told of (a field: its methods are the declarations').
	Products *productsdb.Store
}

// New migrates st and every capability's schema to the current version
// and returns the database on it.
func New(ctx context.Context, st store.Store) (*DB, error) {
	if err := st.Migrate(ctx, Schemas...); err != nil {
		return nil, err
	}
	return On(st), nil
}

// On returns the database on st, migrated already.
func On(st store.Store) *DB {
	return &DB{Store: st, Accounts: authdb.New(st.DB()), Organisations: Constituency(st.DB()), Notifier: notifydb.New(st.DB(), st),
		Messages: outboxdb.New(st.DB(), st), Searches: savedsearchdb.New(st.DB()),
		Data: feedadmindb.New(st.DB()), Incidents: incidentdb.New(st.DB()), Mails: mailindb.New(st.DB()),
		Alerts: alertdb.New(st.DB()), Publications: pubdb.New(st.DB()), Newsletter: newsletterdb.New(st.DB()),
		Products: productsdb.New(st.DB())}
}

// Migrate brings the event store and every capability's schema, then the
// extra schemas given, to the current version.
func (d *DB) Migrate(ctx context.Context, extra ...sqlkit.Schema) error {
	if err := d.Store.Migrate(ctx, append(Schemas[:len(Schemas):len(Schemas)], extra...)...); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// Wrapped returns a copy of d whose event store and accounts are st and
// acc (wrappers of d's, as internal/sealed's are), every other
// capability's data kept as it is in d: a DB built field by field would
// leave a capability added later nil.
func (d *DB) Wrapped(st store.Store, acc auth.Accounts) *DB {
	w := *d
	w.Store, w.Accounts = st, acc
	return &w
}
