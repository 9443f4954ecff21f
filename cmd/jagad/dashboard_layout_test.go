package main

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Steps of TestDashboardBrowser: the phone layout (390×844); every other
// step runs at 1280×800.

// phoneLayout: no page scrolls sideways at 390 px.
func (d *dash) phoneLayout(t *testing.T) {
	b, od, backupID := d.b, d.od, d.backupID
	b.do(10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(1)))
	defer b.do(10*time.Second, chromedp.EmulateViewport(1280, 800))
	for _, p := range []struct{ path, name, sel string }{
		{"/schedules", "phone-schedules", "tr[data-schedule]"},
		{"/", "phone-overview", "tr[data-schedule]"},
		{"/backups/" + backupID, "phone-backup", "pre.log"},
		{"/config", "phone-config", "#state-h"},
		{"/connections/new", "phone-connection-form", "#connection-form"},
	} {
		b.do(20*time.Second, chromedp.Navigate(od.base+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
		if w := b.eval(`String(document.documentElement.scrollWidth) + (document.documentElement.scrollWidth == 390 ? "" : " innerWidth " + innerWidth)`); w != "390" {
			wide := b.eval(`Array.from(document.querySelectorAll("body *")).filter(e => e.scrollWidth > e.clientWidth + 1).slice(0, 12).map(e => e.tagName + "." + e.className + " " + e.clientWidth + "/" + e.scrollWidth + " " + getComputedStyle(e).overflowX).join("; ")`)
			t.Errorf("%s at 390 px: the page is %s px wide (scrolls sideways): %s", p.path, w, wide)
		}
		b.shot(p.name)
	}
	b.noIssues("phone")
}
