package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// raiseFlags raises two flags holding ana's earnings in the campaign (a
// high one and a medium one) and one holding ben's, as the detectors
// would, and returns them by creator handle.
func (w *collabWorld) raiseFlags() map[string][]fraud.Flag {
	w.t.Helper()
	out := map[string][]fraud.Flag{}
	now := clock.MicrosOf(w.a.Clock.Now())
	err := w.a.DB.WithTx(context.Background(), func(tx *store.Tx) error {
		for i, x := range []struct {
			h, sev string
			score  float64
		}{{"ana", fraud.SeverityHigh, 9.31}, {"ana", fraud.SeverityMedium, 0.72}, {"ben", fraud.SeverityMedium, 0.65}} {
			f, _, err := fraud.Raise(context.Background(), tx, now, fraud.Flag{Detector: fraud.DetectorClickFarm, Subject: fraud.SubjectCreator,
				SubjectID: w.ids[x.h], CampaignID: w.campaign, CreatorID: w.ids[x.h], Score: x.score, Severity: x.sev,
				Reason: fmt.Sprintf("412 of 480 clicks <b>%d</b> were bots or repeats", i), Category: fraud.CategoryClicks,
				Window: fmt.Sprint(i), Holds: true})
			if err != nil {
				return err
			}
			out[x.h] = append(out[x.h], f)
		}
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// TestFraudPageMatchesAPI: the brand's review page lists the campaign's
// open flags per creator with the reason, score and severity the API's
// queue gives, and the held amount equal, to the micro-unit, to the gross
// of the creator's earnings the API marks under review; a decision needs a
// reason, dismiss and confirm act as the API's; the sensitivity form sets
// what the API reads; another brand gets 404 everywhere. Both stores.
func TestFraudPageMatchesAPI(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newCollabWorld(t, dbURL)
		w.decideAndPost(true)
		w.approveBillAndConvert(true)
		base := "/campaigns/" + w.campaign + "/flags"

		res, body := w.brand.get(base)
		wantStatus(t, res, body, http.StatusOK)
		wantContains(t, body, `id="no-flags"`, `aria-current="page">Fraud</a>`, `<option value="moderate" selected>`)

		flags := w.raiseFlags()
		var q struct {
			Data []fraud.Flag
		}
		w.api(200, "GET", "/v1/fraud/flags?state=open&campaign_id="+w.campaign, w.key, "", &q)
		if len(q.Data) != 3 {
			t.Fatalf("API queue: %+v", q.Data)
		}
		under := map[string]money.Amount{}
		for _, e := range w.earnings() {
			if e.UnderReview {
				a, err := under[e.CreatorID].Add(e.Gross)
				if under[e.CreatorID].Currency == "" {
					a, err = e.Gross, nil
				}
				if err != nil {
					t.Fatal(err)
				}
				under[e.CreatorID] = a
			}
		}
		if under[w.ids["ana"]].Micros <= 0 || under[w.ids["ben"]].Micros <= 0 {
			t.Fatalf("nothing under review in the API: %+v", under)
		}
		res, body = w.brand.get(base)
		wantStatus(t, res, body, http.StatusOK)
		for _, f := range q.Data {
			r := row(t, body, "flag-"+f.ID, "</article>")
			wantContains(t, r, html.EscapeString(f.Reason), fmt.Sprintf(`id="score-%s">%.2f<`, f.ID, f.Score), ">"+f.Severity+"</span>",
				html.EscapeString(fraud.CategoryText[f.Category]))
		}
		for _, h := range []string{"ana", "ben"} {
			sec := row(t, body, "creator-"+w.ids[h], "</section>")
			wantContains(t, sec, fmt.Sprintf(`id="held-%s">%s<`, w.ids[h], m(under[w.ids[h]])))
			for _, f := range flags[h] {
				wantContains(t, sec, `id="flag-`+f.ID+`"`)
			}
		}
		if strings.Contains(body, "<b>0</b>") {
			t.Fatal("a reason is not escaped")
		}

		// Another brand: 404 on the page, the decisions and the sensitivity.
		w.a.NewBrand(t, "Other", "olga@other.example")
		other := browserFor(t, w.a, "olga@other.example")
		res, body = other.get(base)
		wantStatus(t, res, body, http.StatusNotFound)
		fa := flags["ana"][0]
		res, body = other.post(base+"/"+fa.ID+"/confirm", url.Values{"reason": {"x"}})
		wantStatus(t, res, body, http.StatusNotFound)
		res, body = other.post(base+"/sensitivity", url.Values{"sensitivity": {"strict"}})
		wantStatus(t, res, body, http.StatusNotFound)

		// A decision needs a reason: refused beside that flag's field.
		res, body = w.brand.post(base+"/"+fa.ID+"/confirm", url.Values{"reason": {"  "}})
		wantStatus(t, res, body, http.StatusBadRequest)
		wantContains(t, row(t, body, "flag-"+fa.ID, "</article>"), `aria-invalid="true"`, `class="field-error"`)
		var got fraud.Flag
		w.api(200, "GET", "/v1/fraud/flags/"+fa.ID, w.key, "", &got)
		if got.State != fraud.StateOpen {
			t.Fatalf("flag decided without a reason: %+v", got)
		}

		// Dismiss ben's, confirm ana's first: as the API would.
		fb := flags["ben"][0]
		res, body = w.brand.post(base+"/"+fb.ID+"/dismiss", url.Values{"reason": {"a giveaway drove the clicks"}})
		wantRedirect(t, res, body, base)
		w.api(200, "GET", "/v1/fraud/flags/"+fb.ID, w.key, "", &got)
		if got.State != fraud.StateDismissed || got.DecisionReason != "a giveaway drove the clicks" || !strings.HasPrefix(got.DecidedBy, "brand:") {
			t.Fatalf("dismissed flag %+v", got)
		}
		res, body = w.brand.post(base+"/"+fa.ID+"/confirm", url.Values{"reason": {"bought clicks"}})
		wantRedirect(t, res, body, base)
		w.api(200, "GET", "/v1/fraud/flags/"+fa.ID, w.key, "", &got)
		if got.State != fraud.StateConfirmed || got.DecisionReason != "bought clicks" {
			t.Fatalf("confirmed flag %+v", got)
		}
		for _, e := range w.earnings() {
			if e.CreatorID == w.ids["ana"] && e.State != engage.EarningVoided && e.State != engage.EarningReleased {
				t.Fatalf("ana's earning %s is %s after the confirmation", e.ID, e.State)
			}
		}
		res, body = w.brand.get(base)
		wantStatus(t, res, body, http.StatusOK)
		if strings.Contains(body, "flag-"+fa.ID) || strings.Contains(body, "flag-"+fb.ID) || !strings.Contains(body, "flag-"+flags["ana"][1].ID) {
			t.Fatalf("open flags after the decisions:\n%s", body)
		}

		// Sensitivity: the form sets what the API reads; a bad value is refused.
		res, body = w.brand.post(base+"/sensitivity", url.Values{"sensitivity": {"strict"}})
		wantRedirect(t, res, body, base)
		var sens struct{ Sensitivity string }
		w.api(200, "GET", "/v1/campaigns/"+w.campaign+"/fraud-sensitivity", w.key, "", &sens)
		if sens.Sensitivity != "strict" {
			t.Fatalf("sensitivity %q after the form", sens.Sensitivity)
		}
		res, body = w.brand.post(base+"/sensitivity", url.Values{"sensitivity": {"paranoid"}})
		wantStatus(t, res, body, http.StatusBadRequest)
		wantContains(t, body, `id="f-sensitivity-error"`)
		res, body = w.brand.get(base)
		wantContains(t, body, `<option value="strict" selected>`)
	})
}
