package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store"
)

const publicationsKey = "demo/publications"

// Publisher is the demo's second team member, a publisher: the demo's
// publications are written by her and approved by the demo login, as the
// four-eyes rule wants. She logs in with the demo's password.
const Publisher = "demo-publisher"

// demoPublication is a publication of the demo and how far it goes
// through the workflow.
type demoPublication struct {
	kind    publication.Kind
	content publication.Content
	// ago is how long before the demo was loaded it was written; each
	// step of its workflow comes an hour later.
	ago time.Duration
	// until is the last status it reaches: draft, review, approved,
	// scheduled (a day after loading) or published.
	until publication.Status
	// update, when set, is published as its second revision with this
	// change note and summary in every language.
	update  string
	summary [3]string
}

// texts returns the English, Dutch and French versions of a publication.
func texts(title, summary, body [3]string, recs ...[3]string) []publication.Text {
	out := make([]publication.Text, 3)
	for i, lang := range []string{"en", "nl", "fr"} {
		out[i] = publication.Text{Lang: lang, Title: title[i], Summary: summary[i], Body: body[i]}
		for j := 0; j+1 < len(recs); j += 2 {
			out[i].Recommendations = append(out[i].Recommendations, publication.Recommendation{Kind: recs[j][0], Text: recs[j+1][i]})
		}
	}
	return out
}

// kind wraps a recommendation kind as texts takes it.
func kind(k string) [3]string { return [3]string{k, k, k} }

var edgeRouter = publication.Product{Vendor: "Acme", Product: "EdgeRouter firmware",
	CPE:      "cpe:2.3:o:acme:edgerouter_firmware:*:*:*:*:*:*:*:*",
	Versions: []publication.VersionRange{{Introduced: "4.0.0", Fixed: "4.2.1"}}}

var demoPublications = []demoPublication{
	{kind: publication.KindAdvisory, ago: 50 * time.Hour, until: publication.StatusPublished,
		update:  "Version 4.2.0 did not fix the flaw completely; upgrade to 4.2.1.",
		summary: [3]string{"Upgrade to firmware 4.2.1 now: 4.2.0 did not fix the flaw completely.", "Werk nu bij naar firmware 4.2.1: 4.2.0 verhielp het lek niet volledig.", "Passez maintenant au micrologiciel 4.2.1 : la 4.2.0 ne corrigeait pas entièrement la faille."},
		content: publication.Content{Severity: "critical", TLP: publication.TLPClear,
			CVEs: []string{"CVE-2026-41234"}, CWEs: []string{"CWE-787"},
			CVSS: []publication.CVSS{
				{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8, Severity: "critical"},
				{Version: "4.0", Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", Score: 9.3, Severity: "critical"}},
			Products: []publication.Product{{Vendor: edgeRouter.Vendor, Product: edgeRouter.Product, CPE: edgeRouter.CPE,
				Versions: []publication.VersionRange{{Introduced: "4.0.0", Fixed: "4.2.0"}}}},
			References: []publication.Reference{{URL: "https://acme.example/security/ASA-2026-007", Title: "Acme security advisory ASA-2026-007"}},
			Tags:       []string{"router", "remote code execution"},
			Texts: texts(
				[3]string{"Critical flaw in Acme EdgeRouter firmware", "Kritiek lek in firmware van Acme EdgeRouter", "Faille critique dans le micrologiciel Acme EdgeRouter"},
				[3]string{"An attacker on the internet can take over Acme EdgeRouters running firmware 4.0 and later. Upgrade to 4.2.0.", "Een aanvaller op het internet kan Acme EdgeRouters met firmware 4.0 en later overnemen. Werk bij naar 4.2.0.", "Un attaquant sur Internet peut prendre le contrôle des Acme EdgeRouter sous micrologiciel 4.0 et suivants. Passez à la 4.2.0."},
				[3]string{"## What is the issue?\n\nA buffer overflow in the web management interface lets an unauthenticated attacker run code as root.\n\n## What is the impact?\n\nFull control of the router, and of the traffic through it.",
					"## Wat is het probleem?\n\nEen bufferoverloop in de webbeheerinterface laat een aanvaller zonder aanmelding code uitvoeren als root.\n\n## Wat is de impact?\n\nVolledige controle over de router en het verkeer erdoor.",
					"## Quel est le problème ?\n\nUn débordement de tampon dans l'interface d'administration web permet à un attaquant non authentifié d'exécuter du code en tant que root.\n\n## Quel est l'impact ?\n\nLe contrôle complet du routeur et du trafic qui le traverse."},
				kind(publication.RecommendPatch), [3]string{"Upgrade the firmware to the fixed version named in the summary.", "Werk de firmware bij naar de verbeterde versie uit de samenvatting.", "Mettez à jour le micrologiciel vers la version corrigée indiquée dans le résumé."},
				kind(publication.RecommendMitigate), [3]string{"Do not expose the management interface to the internet.", "Stel de beheerinterface niet bloot aan het internet.", "N'exposez pas l'interface d'administration sur Internet."},
				kind(publication.RecommendDetect), [3]string{"Look for requests to /cgi-bin/mgmt with very long parameters in the logs.", "Zoek in de logs naar verzoeken aan /cgi-bin/mgmt met zeer lange parameters.", "Cherchez dans les journaux des requêtes vers /cgi-bin/mgmt avec des paramètres très longs."},
			)}},
	{kind: publication.KindAdvisory, ago: 30 * time.Hour, until: publication.StatusPublished,
		content: publication.Content{Severity: "high", TLP: publication.TLPClear,
			CVEs: []string{"CVE-2026-39001"}, CWEs: []string{"CWE-502"},
			CVSS: []publication.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", Score: 7.5, Severity: "high"}},
			Products: []publication.Product{{Vendor: "example", Product: "example-parser", PURL: "pkg:npm/example-parser",
				Versions: []publication.VersionRange{{Introduced: "2.0.0", Fixed: "2.3.5"}}}},
			References: []publication.Reference{{URL: "https://registry.example/example-parser/advisories/1", Title: "Maintainers' notice"}},
			Texts: texts(
				[3]string{"Data leak in the example-parser library", "Datalek in de bibliotheek example-parser", "Fuite de données dans la bibliothèque example-parser"},
				[3]string{"Applications using example-parser 2.0.0 to 2.3.4 can leak files to anyone who sends them a document.", "Toepassingen die example-parser 2.0.0 tot 2.3.4 gebruiken, kunnen bestanden lekken aan wie hun een document stuurt.", "Les applications utilisant example-parser 2.0.0 à 2.3.4 peuvent divulguer des fichiers à quiconque leur envoie un document."},
				[3]string{"Parsing a crafted document reads any file the application may read.", "Het verwerken van een gemanipuleerd document leest elk bestand dat de toepassing mag lezen.", "L'analyse d'un document piégé lit tout fichier que l'application peut lire."},
				kind(publication.RecommendPatch), [3]string{"Upgrade example-parser to 2.3.5 and redeploy.", "Werk example-parser bij naar 2.3.5 en rol opnieuw uit.", "Mettez example-parser à jour vers la 2.3.5 et redéployez."},
			)}},
	{kind: publication.KindAdvisory, ago: 20 * time.Hour, until: publication.StatusPublished,
		content: publication.Content{Severity: "medium", TLP: publication.TLPGreen,
			Products: []publication.Product{{Vendor: "Demo Controls", Product: "Building Manager", Versions: []publication.VersionRange{{LastAffected: "7.4"}}}},
			Texts: texts(
				[3]string{"Default passwords in Demo Controls Building Manager", "Standaardwachtwoorden in Demo Controls Building Manager", "Mots de passe par défaut dans Demo Controls Building Manager"},
				[3]string{"For our constituents: building management systems up to 7.4 ship with a shared maintenance password.", "Voor onze achterban: gebouwbeheersystemen tot 7.4 hebben een gedeeld onderhoudswachtwoord.", "Pour nos bénéficiaires : les systèmes de gestion technique jusqu'à la 7.4 ont un mot de passe de maintenance partagé."},
				[3]string{"We found 14 of them reachable from the internet in our constituency.", "We vonden er 14 die vanaf het internet bereikbaar zijn in onze achterban.", "Nous en avons trouvé 14 accessibles depuis Internet chez nos bénéficiaires."},
				kind(publication.RecommendWorkaround), [3]string{"Change the maintenance password and filter access by address.", "Wijzig het onderhoudswachtwoord en filter de toegang op adres.", "Changez le mot de passe de maintenance et filtrez l'accès par adresse."},
			)}},
	{kind: publication.KindWarning, ago: 8 * time.Hour, until: publication.StatusPublished,
		content: publication.Content{Severity: "high", TLP: publication.TLPClear, Tags: []string{"phishing"},
			References: []publication.Reference{{URL: "https://bank.example/security/sms-phishing", Title: "The banks' notice on card-blocking text messages"}},
			Texts: texts(
				[3]string{"Text messages impersonating banks", "Sms'jes die zich voordoen als banken", "SMS se faisant passer pour des banques"},
				[3]string{"Many people receive a text saying their bank card is blocked, with a link to a fake bank site. Do not click.", "Veel mensen krijgen een sms dat hun bankkaart geblokkeerd is, met een link naar een valse banksite. Klik niet.", "Beaucoup de personnes reçoivent un SMS disant que leur carte est bloquée, avec un lien vers un faux site bancaire. Ne cliquez pas."},
				[3]string{"Your bank never asks you to activate your card by a link. Forward suspicious messages to the team, and report them with the form.", "Uw bank vraagt nooit om uw kaart via een link te activeren. Stuur verdachte berichten door naar het team en meld ze met het formulier.", "Votre banque ne vous demande jamais d'activer votre carte par un lien. Transférez les messages suspects à l'équipe et signalez-les avec le formulaire."},
			)}},
	{kind: publication.KindNews, ago: 70 * time.Hour, until: publication.StatusPublished,
		content: publication.Content{Severity: "low", TLP: publication.TLPClear, Tags: []string{"awareness"},
			Texts: texts(
				[3]string{"Five steps to a safer home router", "Vijf stappen naar een veiligere thuisrouter", "Cinq étapes pour un routeur domestique plus sûr"},
				[3]string{"Change the password, update, switch off remote management, use WPA3, and check who is connected.", "Wijzig het wachtwoord, werk bij, zet beheer op afstand uit, gebruik WPA3 en kijk wie er verbonden is.", "Changez le mot de passe, mettez à jour, désactivez l'administration à distance, utilisez WPA3 et vérifiez qui est connecté."},
				[3]string{"1. Change the default password.\n2. Install updates.\n3. Switch off remote management.\n4. Use WPA3.\n5. Check the list of connected devices.", "1. Wijzig het standaardwachtwoord.\n2. Installeer updates.\n3. Zet beheer op afstand uit.\n4. Gebruik WPA3.\n5. Bekijk de lijst van verbonden toestellen.", "1. Changez le mot de passe par défaut.\n2. Installez les mises à jour.\n3. Désactivez l'administration à distance.\n4. Utilisez WPA3.\n5. Vérifiez la liste des appareils connectés."},
			)}},
	{kind: publication.KindDigest, ago: 2 * time.Hour, until: publication.StatusPublished,
		content: publication.Content{Severity: "low", TLP: publication.TLPClear,
			Texts: texts(
				[3]string{"This week in security", "Deze week in beveiliging", "Cette semaine en sécurité"},
				[3]string{"A critical router flaw, a library leaking files, and bank phishing by text message.", "Een kritiek routerlek, een bibliotheek die bestanden lekt, en bankphishing per sms.", "Une faille critique de routeur, une bibliothèque qui divulgue des fichiers, et de l'hameçonnage bancaire par SMS."},
				[3]string{"- Critical flaw in Acme EdgeRouter firmware: upgrade to 4.2.1.\n- Data leak in example-parser: upgrade to 2.3.5.\n- Warning: text messages impersonating banks.", "- Kritiek lek in firmware van Acme EdgeRouter: werk bij naar 4.2.1.\n- Datalek in example-parser: werk bij naar 2.3.5.\n- Waarschuwing: sms'jes die zich voordoen als banken.", "- Faille critique du micrologiciel Acme EdgeRouter : passez à la 4.2.1.\n- Fuite de données dans example-parser : passez à la 2.3.5.\n- Alerte : SMS se faisant passer pour des banques."},
			)}},
	{kind: publication.KindAdvisory, ago: 3 * time.Hour, until: publication.StatusReview,
		content: publication.Content{Severity: "high", TLP: publication.TLPClear, CVEs: []string{"CVE-2026-40404"},
			Texts: texts(
				[3]string{"Authentication bypass in Demo VPN Gateway", "Omzeilen van authenticatie in Demo VPN Gateway", "Contournement d'authentification dans Demo VPN Gateway"},
				[3]string{"Draft waiting for a second person's review.", "Concept dat wacht op nazicht door een tweede persoon.", "Brouillon en attente de relecture par une deuxième personne."},
				[3]string{"To be completed.", "Aan te vullen.", "À compléter."},
			)}},
	{kind: publication.KindNews, ago: 90 * time.Minute, until: publication.StatusScheduled,
		content: publication.Content{Severity: "low", TLP: publication.TLPClear,
			Texts: texts(
				[3]string{"Our new reporting form", "Ons nieuwe meldformulier", "Notre nouveau formulaire de signalement"},
				[3]string{"Report an incident in three steps, and follow it with your tracking number.", "Meld een incident in drie stappen en volg het met uw opvolgnummer.", "Signalez un incident en trois étapes et suivez-le avec votre numéro de suivi."},
				[3]string{"The form is on our website, beside the advisories.", "Het formulier staat op onze website, naast de adviezen.", "Le formulaire se trouve sur notre site, à côté des avis."},
			)}},
}

// loadPublications stores, once, the demo's publications: each kind in
// English, Dutch and French, written by the demo's publisher and approved
// by the demo login (four eyes), one updated to a second revision, one
// TLP:GREEN for constituents only, one in review and one scheduled.
func (s *Set) loadPublications(ctx context.Context, st *database.DB) error {
	if _, err := st.GetState(ctx, publicationsKey); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	writer, err := ensureUser(ctx, st, Publisher, "publisher@cert.example", auth.RolePublisher)
	if err != nil {
		return err
	}
	approver, err := st.GetUserByName(ctx, User)
	if err != nil {
		return fmt.Errorf("demo publications: %w", err)
	}
	// A copy of the configured service, whose clock the demo sets back.
	svc := &publication.Service{Store: st.Publications, Audit: st}
	if s.Publishing != nil {
		copied := *s.Publishing
		svc = &copied
	}
	w := publication.Actor{UserID: writer.ID, Name: writer.Name}
	a := publication.Actor{UserID: approver.ID, Name: approver.Name}
	now := time.Now().UTC()
	for _, d := range demoPublications {
		clock := now.Add(-d.ago)
		svc.Now = func() time.Time { clock = clock.Add(10 * time.Minute); return clock }
		if err := publishDemo(ctx, svc, w, a, d, now); err != nil {
			return fmt.Errorf("demo publication %q: %w", d.content.Texts[0].Title, err)
		}
	}
	return st.PutState(ctx, publicationsKey, []byte(now.Format(time.RFC3339)))
}

func publishDemo(ctx context.Context, svc *publication.Service, writer, approver publication.Actor, d demoPublication, now time.Time) error {
	p, err := svc.Create(ctx, writer, d.kind, d.content, "")
	if err != nil || d.until == publication.StatusDraft {
		return err
	}
	if _, err := svc.Submit(ctx, writer, p.ID); err != nil || d.until == publication.StatusReview {
		return err
	}
	if _, err := svc.Approve(ctx, approver, p.ID); err != nil || d.until == publication.StatusApproved {
		return err
	}
	if d.until == publication.StatusScheduled {
		_, err := svc.Schedule(ctx, approver, p.ID, now.Add(24*time.Hour))
		return err
	}
	if p, err = svc.Publish(ctx, approver, p.ID); err != nil || d.update == "" {
		return err
	}
	c := p.Content
	c.Texts = append([]publication.Text(nil), c.Texts...)
	for i := range c.Texts {
		c.Texts[i].Summary = d.summary[i]
	}
	c.Products = []publication.Product{edgeRouter}
	if _, err := svc.Edit(ctx, writer, p.ID, c, d.update); err != nil {
		return err
	}
	if _, err := svc.Submit(ctx, writer, p.ID); err != nil {
		return err
	}
	if _, err := svc.Approve(ctx, approver, p.ID); err != nil {
		return err
	}
	_, err = svc.Publish(ctx, approver, p.ID)
	return err
}

// ensureUser returns the account name, creating it with the demo's
// password and role when it is not there.
func ensureUser(ctx context.Context, st *database.DB, name, email string, role auth.Role) (auth.User, error) {
	u, err := st.GetUserByName(ctx, name)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return u, err
	}
	if u, err = auth.NewUser(name, email, role, Password, "en"); err != nil {
		return u, fmt.Errorf("demo user %s: %w", name, err)
	}
	if err := st.CreateUser(ctx, &u); err != nil {
		return u, fmt.Errorf("demo user %s: %w", name, err)
	}
	return u, nil
}
