package products_test

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/channel"
	"github.com/vigil-cert/vigil/internal/publication/products"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// world is a database with organisations that declared products, a
// publication service whose channels include the constituents', the
// sender, and the publication outbox's worker that runs it, as `vigil
// serve` does.
type world struct {
	t          *testing.T
	db         *database.DB
	svc        *publication.Service
	sender     *products.Sender
	worker     *channel.Worker
	ann, bob   publication.Actor
	now        time.Time
	team       *pgpmime.Identity
	armoredKey string
	orgs       map[string]constituency.Organisation
}

func newWorld(t *testing.T) *world {
	st := dbtest.SQLite(t, database.Schemas...)
	db := database.On(st)
	ctx := t.Context()
	w := &world{t: t, db: db, now: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC), orgs: map[string]constituency.Organisation{}}
	actor := func(name string) publication.Actor {
		u := auth.User{Name: name, Email: name + "@cert.example", Role: auth.RolePublisher,
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Language: "en"}
		if err := authdb.New(st.DB()).CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		return publication.Actor{UserID: u.ID, Name: name}
	}
	w.ann, w.bob = actor("ann"), actor("bob")
	armored, err := pgpmime.GenerateIdentity("Example CERT", "cert@cert.example", w.now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	w.armoredKey = armored
	if w.team, err = pgpmime.ParseIdentity(armored, ""); err != nil {
		t.Fatal(err)
	}
	org := func(handle, lang string, disabled bool, ds ...products.Declaration) {
		o := constituency.Organisation{Handle: handle, Name: strings.ToUpper(handle), Language: lang,
			Contacts: []constituency.Contact{{Name: "SOC", Email: "soc@" + handle + ".example", Role: constituency.ContactSecurity, Notify: true}}}
		if err := db.CreateOrganisation(ctx, &o); err != nil {
			t.Fatal(err)
		}
		if disabled {
			if _, err := db.SetOrganisationDisabled(ctx, o.ID, true); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Products.AddDeclarations(ctx, o.ID, ds); err != nil {
			t.Fatal(err)
		}
		w.orgs[handle] = o
	}
	org("ulb", "fr", false, products.Declaration{CPE: "cpe:2.3:a:apache:http_server:2.4.58:*:*:*:*:*:*:*", AddedBy: "alice"},
		products.Declaration{Product: "Moodle", Version: "4.1"})
	org("kuleuven", "nl", false, products.Declaration{Vendor: "Apache", Product: "HTTP Server", Version: "2.4.59"})
	org("ugent", "en", false, products.Declaration{Vendor: "apache", Product: "http-server"})
	org("off", "en", true, products.Declaration{Vendor: "Apache", Product: "HTTP Server", Version: "2.4.1"})
	org("vub", "de", false, products.Declaration{PURL: "pkg:npm/left-pad@1.3.0"})
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return w.now }
	w.svc = &publication.Service{Store: db.Publications, Audit: db, Now: clock,
		Channels: append(slices.Clone(publication.DefaultChannels), products.Channel)}
	w.sender = &products.Sender{Store: db.Products, Organisations: db, Policies: db, State: db, Catalog: cat,
		From: "Example CERT <cert@cert.example>", PortalURL: "https://vigil.example/portal", Now: clock}
	reg := &channel.Registry{}
	if err := reg.Register(w.sender); err != nil {
		t.Fatal(err)
	}
	w.worker = &channel.Worker{Deliveries: db.Publications, Publications: db.Publications, Registry: reg, Now: clock,
		Jitter: func(time.Duration) time.Duration { return 0 }}
	return w
}

// deliver runs one pass of the publication outbox's worker: the path
// by which `vigil serve` calls the sender.
func (w *world) deliver() channel.Counts {
	w.t.Helper()
	counts, err := w.worker.RunOnce(w.t.Context())
	if err != nil {
		w.t.Fatalf("the worker's pass: %v", err)
	}
	return counts
}

// publish writes, reviews and publishes an advisory of httpd.
func (w *world) publish(tlp publication.TLP) publication.Publication {
	w.t.Helper()
	ctx := w.t.Context()
	c := publication.Content{Severity: "high", TLP: tlp, CVEs: []string{"CVE-2026-4242"},
		Products: []publication.Product{{Vendor: "Apache", Product: "HTTP Server", CPE: "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*",
			Versions: []publication.VersionRange{{Introduced: "2.4.0", Fixed: "2.4.59"}}}},
		Texts: []publication.Text{
			{Lang: "en", Title: "Apache HTTP Server request smuggling", Summary: "Update your web servers.",
				Recommendations: []publication.Recommendation{{Kind: publication.RecommendPatch, Text: "Update to 2.4.59."}}},
			{Lang: "nl", Title: "Request smuggling in Apache HTTP Server", Summary: "Werk uw webservers bij."},
			{Lang: "fr", Title: "Dissimulation de requêtes dans Apache HTTP Server", Summary: "Mettez vos serveurs web à jour.",
				Recommendations: []publication.Recommendation{{Kind: publication.RecommendPatch, Text: "Passez à la 2.4.59."}}},
		}}
	p, err := w.svc.Create(ctx, w.ann, publication.KindAdvisory, c, "")
	if err != nil {
		w.t.Fatal(err)
	}
	for _, step := range []func() (publication.Publication, error){
		func() (publication.Publication, error) { return w.svc.Submit(ctx, w.ann, p.ID) },
		func() (publication.Publication, error) { return w.svc.Approve(ctx, w.bob, p.ID) },
		func() (publication.Publication, error) { return w.svc.Publish(ctx, w.bob, p.ID) },
	} {
		if p, err = step(); err != nil {
			w.t.Fatal(err)
		}
	}
	return p
}

// messages returns the outbox's messages by organisation handle.
func (w *world) messages() map[string][]outbox.Message {
	w.t.Helper()
	list, err := w.db.ListMessages(w.t.Context(), outbox.MessageQuery{})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string][]outbox.Message{}
	for _, m := range list {
		full, err := w.db.GetMessage(w.t.Context(), m.ID)
		if err != nil {
			w.t.Fatal(err)
		}
		out[m.Org] = append(out[m.Org], full)
	}
	return out
}

// text opens a signed message and returns what it says.
func (w *world) text(m outbox.Message) string {
	w.t.Helper()
	opened, err := pgpmime.Open(m.Body, openpgp.EntityList{w.team.Entity()})
	if err != nil || !opened.Signed {
		w.t.Fatalf("message to %s does not verify: %v", m.Org, err)
	}
	decoded, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(opened.Content)))
	if err != nil {
		w.t.Fatal(err)
	}
	return strings.ReplaceAll(string(decoded), "\r\n", "\n")
}

func (w *world) deliveries(p publication.Publication) []publication.Delivery {
	w.t.Helper()
	list, err := w.db.Publications.ListDeliveries(w.t.Context(), p.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []publication.Delivery
	for _, d := range list {
		if d.Channel == products.ChannelName {
			out = append(out, d)
		}
	}
	return out
}

func TestTellingConstituents(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	p := w.publish(publication.TLPClear)

	// Without a team key nothing goes out: the delivery waits, saying why.
	if c := w.deliver(); c != (channel.Counts{Retried: 1}) {
		t.Fatalf("the worker without a key: %+v, want the delivery retried", c)
	}
	ds := w.deliveries(p)
	if len(ds) != 1 || ds[0].Status != publication.DeliveryQueued || ds[0].Attempts != 1 || ds[0].LastError == "" || !ds[0].NextAttempt.After(w.now) {
		t.Fatalf("delivery after a try without a key: %+v", ds)
	}
	if len(w.messages()) != 0 {
		t.Fatal("messages queued without a team key")
	}
	if _, err := notify.StoreIdentity(ctx, w.db, w.armoredKey); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(time.Hour)
	if c := w.deliver(); c != (channel.Counts{Sent: 1}) {
		t.Fatalf("the worker with a key: %+v, want the delivery sent", c)
	}
	ds = w.deliveries(p)
	if ds[0].Status != publication.DeliverySent || ds[0].Reply != i18n.M("products.reply.told", 2, 0).Encode() {
		t.Errorf("delivery: %s %q", ds[0].Status, ds[0].Reply)
	}
	if got := w.sender.Catalog.Stored("en", ds[0].Reply); got != "Organisations told: 2 (told before: 0)." {
		t.Errorf("the delivery's reply in English: %q", got)
	}
	msgs := w.messages()
	if len(msgs) != 2 || len(msgs["ulb"]) != 1 || len(msgs["ugent"]) != 1 {
		t.Fatalf("messages by organisation: %v (want ulb and ugent only: kuleuven runs the fixed version, off is disabled, vub runs something else)", keys(msgs))
	}
	fr := msgs["ulb"][0]
	if !strings.Contains(fr.Subject, p.Ident) || !strings.Contains(fr.Subject, "concerne des produits") || fr.Kind != "advisory" {
		t.Errorf("ulb's subject %q (kind %s), want French with the ident", fr.Subject, fr.Kind)
	}
	text := w.text(fr)
	for _, want := range []string{"Dissimulation de requêtes", "apache http_server 2.4.58", "corrigé en", "Corriger : Passez", "Passez à la 2.4.59",
		"https://vigil.example/portal/advisories/" + p.Ident, "élevée"} {
		if !strings.Contains(text, want) {
			t.Errorf("ulb's message lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Moodle") {
		t.Error("ulb's message names a product the advisory does not concern")
	}
	if en := w.text(msgs["ugent"][0]); !strings.Contains(en, "no version declared") || strings.Contains(en, "TLP:AMBER:") {
		t.Errorf("ugent's message:\n%s", en)
	}

	// Exactly once per revision: sending again tells nobody more.
	reply, err := w.sender.Send(ctx, p, ds[0])
	if err != nil || reply != i18n.M("products.reply.told", 0, 2) {
		t.Errorf("Send again = %q, %v", reply, err)
	}
	// A delivery of a revision since superseded tells nobody: the newer
	// revision has its own.
	newer := p
	newer.Revision++
	if reply, err := w.sender.Send(ctx, newer, ds[0]); err != nil || reply != i18n.M("products.reply.superseded", p.Revision, newer.Revision) {
		t.Errorf("Send of a superseded revision = %q, %v", reply, err)
	}
	if got := w.messages(); len(got["ulb"]) != 1 || len(got["ugent"]) != 1 {
		t.Errorf("messages after a second send: ulb %d, ugent %d", len(got["ulb"]), len(got["ugent"]))
	}

	// The console's "concerned organisations".
	concerned, err := products.Concerned(ctx, w.db.Products, p)
	if err != nil {
		t.Fatal(err)
	}
	var handles []string
	for _, c := range concerned {
		handles = append(handles, w.handle(c.OrgID)+map[bool]string{true: " told", false: ""}[c.Told])
	}
	if got := strings.Join(handles, ", "); got != "ulb told, ugent told, off" {
		t.Errorf("Concerned = %s", got)
	}
}

func TestTellingByTLP(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	if _, err := notify.StoreIdentity(ctx, w.db, w.armoredKey); err != nil {
		t.Fatal(err)
	}
	amber := w.publish(publication.TLPAmber)
	red := w.publish(publication.TLPRed)
	if ds := w.deliveries(red); len(ds) != 1 || ds[0].Status != publication.DeliverySkipped {
		t.Errorf("a TLP:RED advisory's delivery: %+v, want skipped", ds)
	}
	if reply, err := w.sender.Send(ctx, red, publication.Delivery{Revision: red.Revision}); err != nil || reply != i18n.M("products.reply.notadvisory") {
		t.Errorf("Send of TLP:RED = %q, %v", reply, err)
	}
	// The worker sends the AMBER advisory's delivery (the sender accepts
	// it, as no public channel would); the RED one's was skipped when
	// it was queued.
	if c := w.deliver(); c != (channel.Counts{Sent: 1}) {
		t.Fatalf("the worker: %+v, want the AMBER advisory's delivery sent", c)
	}
	if ds := w.deliveries(amber); len(ds) != 1 || ds[0].Status != publication.DeliverySent {
		t.Errorf("the AMBER advisory's delivery: %+v", ds)
	}
	msgs := w.messages()
	if len(msgs) != 2 {
		t.Fatalf("messages to %v", keys(msgs))
	}
	for _, m := range msgs["ugent"] {
		if text := w.text(m); !strings.Contains(text, "TLP:AMBER") || !strings.Contains(text, amber.Ident) {
			t.Errorf("the AMBER message to ugent:\n%s", text)
		}
		if len(m.Recipients) != 1 || m.Recipients[0] != "soc@ugent.example" {
			t.Errorf("the AMBER message goes to %v", m.Recipients)
		}
	}
	for _, list := range msgs {
		for _, m := range list {
			if strings.Contains(m.Subject, red.Ident) {
				t.Errorf("the TLP:RED advisory reached %s", m.Org)
			}
		}
	}
}

func (w *world) handle(id int64) string {
	for h, o := range w.orgs {
		if o.ID == id {
			return h
		}
	}
	return "?"
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
