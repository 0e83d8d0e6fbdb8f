package console

import (
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/constituency"
)

// TestDestructiveButtonsAskFirst checks that disabling an account,
// deleting a token and deleting an organisation are danger-styled and
// ask for a confirmation before the request that does it.
func TestDestructiveButtonsAskFirst(t *testing.T) {
	env := newTeamEnv(t, nil)
	o := env.createOrganisation(constituency.Organisation{Handle: "uni", Name: "Uni", Language: "en"})
	b := env.admin()

	users := b.get("/users").body
	form := users[strings.Index(users, `<details class="confirm user-disable">`):]
	form = form[:strings.Index(form, "</details>")]
	mustContain(t, form, `<summary>Disable</summary>`, `class="confirm-body"`, `value="disable" class="danger"`)
	mustSay(t, form, "Disable analyst? Their sessions end at once", "Yes, disable analyst")

	r := b.post("/account/tokens", map[string][]string{"name": {"nightly export"}})
	if r.status >= 400 {
		t.Fatalf("token: %d", r.status)
	}
	account := b.get("/account").body
	if !strings.Contains(account, `<details class="confirm token-delete">`) {
		t.Fatalf("no confirmation around the token's delete button:\n%s", text(account))
	}
	form = account[strings.Index(account, `<details class="confirm token-delete">`):]
	mustContain(t, form[:strings.Index(form, "</details>")], `<button type="submit" class="danger">`)
	mustSay(t, form[:strings.Index(form, "</details>")], `Delete the token "nightly export"?`)

	page := b.get(orgPath(o)).body
	mustContain(t, page, `id="delete" class="button danger"`)
	if confirm := b.get(orgPath(o) + "/delete").body; !strings.Contains(confirm, `class="danger" id="delete-confirm"`) {
		t.Errorf("the delete page does not ask for the short name:\n%s", text(confirm))
	}
}
