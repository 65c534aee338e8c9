package app

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"sotto.dev/identity"
	"sotto.dev/internal/testnet"
)

// testSettingsSecurity: the recovery phrase shown only after the
// confirmation (the explicit one, then the passphrase once there is
// one), setting and changing the passphrase (a wrong current one
// refused, the database key kept), the receipt switches, the devices
// and a profile picture.
func testSettingsSecurity(t *testing.T, browser context.Context, nw *testnet.Network) {
	s := appWithAccount(t, nw, "Alice")
	path := s.cfg.IdentityFile
	before, err := identity.LoadKeyFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Wipe()
	want, err := before.Keys.RecoveryPhrase()
	if err != nil {
		t.Fatal(err)
	}
	ctx := newTab(t, browser)
	run(t, ctx, "open the app", chromedp.Navigate(s.URL()))
	appShown(t, ctx)
	run(t, ctx, "open the settings", chromedp.Click(chromedp.CSS(`#settings summary`)))
	waitJS(t, ctx, "the settings loaded", `document.getElementById('pass-state').textContent.includes('not encrypted') && document.getElementById('phrase-pass-row').hidden`)
	if n := evalJS[int](t, ctx, `[...document.querySelectorAll('#settings input')].filter((i) => !i.labels || i.labels.length === 0).length`); n != 0 {
		t.Errorf("%d inputs of the settings have no label", n)
	}

	shownPhrase := `[...document.querySelectorAll('#settings-phrase li')].map((e) => e.textContent)`
	// Not confirmed: refused, nothing shown.
	run(t, ctx, "ask without confirming", chromedp.Click(chromedp.CSS(`#phrase-form button[type=submit]`)))
	waitJS(t, ctx, "the refusal", `!document.getElementById('error').hidden`)
	if got := evalJS[[]string](t, ctx, shownPhrase); len(got) != 0 {
		t.Fatalf("the phrase was shown without a confirmation: %d words", len(got))
	}
	run(t, ctx, "confirm", chromedp.Click(chromedp.ID("phrase-confirm")), chromedp.Click(chromedp.CSS(`#phrase-form button[type=submit]`)))
	waitJS(t, ctx, "the phrase", `document.querySelectorAll('#settings-phrase li').length === 13`)
	if got := evalJS[[]string](t, ctx, shownPhrase); !slices.Equal(got, want) {
		t.Error("the phrase shown is not the account's")
	}
	run(t, ctx, "hide it", chromedp.Click(chromedp.ID("phrase-hide")))
	waitJS(t, ctx, "the phrase gone", `document.querySelectorAll('#settings-phrase li').length === 0 && !document.getElementById('phrase-form').hidden`)

	// A passphrase set.
	const first, second = "correct horse", "battery staple"
	run(t, ctx, "set a passphrase",
		chromedp.SendKeys(chromedp.ID("pass-new"), first),
		chromedp.SendKeys(chromedp.ID("pass-repeat"), first),
		chromedp.Click(chromedp.CSS(`#pass-form button[type=submit]`)))
	waitJS(t, ctx, "saved", `document.getElementById('pass-done').textContent === 'Passphrase saved.' && !document.getElementById('pass-current-row').hidden`)
	opens := func(pass string) *identity.KeyFile {
		kf, err := identity.LoadKeyFile(path, []byte(pass))
		if err != nil && !errors.Is(err, identity.ErrLocked) {
			t.Fatal(err)
		}
		return kf
	}
	if opens("") != nil {
		t.Fatal("the identity file opens without the passphrase")
	}
	kf := opens(first)
	if kf == nil {
		t.Fatal("the identity file does not open with the passphrase set")
	}
	if kf.DBKey != before.DBKey || kf.Keys.SessionID() != before.Keys.SessionID() {
		t.Error("setting the passphrase changed the keys or the database key")
	}
	kf.Wipe()

	// Now the phrase needs the passphrase.
	evalJS[bool](t, ctx, `(document.getElementById('error').hidden = true)`)
	run(t, ctx, "a wrong passphrase for the phrase",
		chromedp.SendKeys(chromedp.ID("phrase-pass"), "wrong"),
		chromedp.Click(chromedp.CSS(`#phrase-form button[type=submit]`)))
	waitJS(t, ctx, "the refusal", `!document.getElementById('error').hidden && document.getElementById('error').textContent === 'wrong passphrase'`)
	if got := evalJS[[]string](t, ctx, shownPhrase); len(got) != 0 {
		t.Fatal("the phrase was shown for a wrong passphrase")
	}
	evalJS[bool](t, ctx, `(document.getElementById('phrase-pass').value = '', true)`)
	run(t, ctx, "the passphrase for the phrase",
		chromedp.SendKeys(chromedp.ID("phrase-pass"), first),
		chromedp.Click(chromedp.CSS(`#phrase-form button[type=submit]`)))
	waitJS(t, ctx, "the phrase", `document.querySelectorAll('#settings-phrase li').length === 13`)
	run(t, ctx, "hide it", chromedp.Click(chromedp.ID("phrase-hide")))

	// Changed: a wrong current passphrase refused, then the right one.
	evalJS[bool](t, ctx, `(document.getElementById('error').hidden = true)`)
	run(t, ctx, "change with a wrong current passphrase",
		chromedp.SendKeys(chromedp.ID("pass-current"), "wrong"),
		chromedp.SendKeys(chromedp.ID("pass-new"), second),
		chromedp.SendKeys(chromedp.ID("pass-repeat"), second),
		chromedp.Click(chromedp.CSS(`#pass-form button[type=submit]`)))
	waitJS(t, ctx, "the refusal", `!document.getElementById('error').hidden && document.getElementById('error').textContent === 'wrong passphrase'`)
	if kf := opens(first); kf == nil {
		t.Fatal("a refused change changed the file")
	} else {
		kf.Wipe()
	}
	evalJS[bool](t, ctx, `(document.getElementById('pass-current').value = '', true)`)
	run(t, ctx, "change",
		chromedp.SendKeys(chromedp.ID("pass-current"), first),
		chromedp.Click(chromedp.CSS(`#pass-form button[type=submit]`)))
	waitJS(t, ctx, "changed", `document.getElementById('pass-done').textContent === 'Passphrase saved.' && document.getElementById('pass-new').value === ''`)
	if opens(first) != nil {
		t.Error("the old passphrase still opens the file")
	}
	if kf := opens(second); kf == nil || kf.DBKey != before.DBKey {
		t.Error("the new passphrase does not open the file with its database key")
	} else {
		kf.Wipe()
	}

	// Receipts off, then the devices list and a picture.
	run(t, ctx, "read receipts off", chromedp.Click(chromedp.ID("read-receipts")))
	c := s.Client()
	waitJS(t, ctx, "the switch off", `!document.getElementById('read-receipts').checked`)
	run(t, ctx, "reload the settings", chromedp.Click(chromedp.CSS(`#settings summary`)), chromedp.Click(chromedp.CSS(`#settings summary`)))
	waitJS(t, ctx, "the switch still off", `!document.getElementById('read-receipts').checked && document.getElementById('delivery-receipts').checked && document.getElementById('pass-current-row').hidden === false`)
	if read, delivery, err := c.Receipts(context.Background()); err != nil || read || !delivery {
		t.Errorf("receipts read %v, delivery %v (%v), want off, on", read, delivery, err)
	}
	waitJS(t, ctx, "this device listed", `[...document.querySelectorAll('#devices li')].some((e) => e.textContent.includes('this device'))`)
	run(t, ctx, "choose a picture", chromedp.SetUploadFiles(chromedp.ID("picture-file"), []string{pngFile(t, t.TempDir(), 64, 48)}))
	waitJS(t, ctx, "the picture shown", `!document.getElementById('my-picture').hidden && document.getElementById('my-picture').naturalWidth === 64 && !document.getElementById('picture-remove').hidden`)
	if url, _, err := c.ProfilePicture(context.Background()); err != nil || url == "" {
		t.Errorf("no profile picture set (%v)", err)
	}
}
