package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store/storetest"
	"github.com/payper/payper/internal/web"
	"github.com/payper/payper/internal/web/webtest"
)

// collabWorld is a brand with an open campaign paying interactions,
// commission, CPA and a flat fee, with content approval on: three creators
// applied (ana accepted through the page, ben through the API, cleo
// rejected through the page), ana's and ben's posts approved (ana's through
// the page), one tick billed their growth, ana has a code made on the page
// and ben a link, and two orders were converted (one by ana's code, one by
// a click on ben's link), the first partly refunded. Each creator's cap is
// €8, so ana's interactions and ben's commission are cut.
type collabWorld struct {
	t        *testing.T
	a        *webtest.App
	brand    *client // the brand owner's browser (no JS)
	key      string  // the brand's API key
	campaign string
	creators map[string]string // handle → API key
	ids      map[string]string // handle → creator id
	apps     map[string]string // handle → application id
	posts    map[string]string // handle → payper post id
	// sandboxPosts are ana's and ben's posts on the sandbox platform.
	sandboxPosts []string
}

// campaignName and pitch are user strings the pages must escape.
const (
	campaignName = `Serum <script>alert(1)</script>`
	anaPitch     = `I love serums <img src=x onerror=alert(1)>`
)

// api calls the API with key and decodes a JSON answer into out (when not
// nil); it fails t unless the status is want.
func (w *collabWorld) api(want int, method, path, key, body string, out any) {
	w.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, w.a.URL+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		w.t.Fatalf("%s %s = %d; want %d: %s", method, path, res.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			w.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

type obj = map[string]any

// browserFor returns a cookie-keeping client (redirects not followed)
// signed in as email.
func browserFor(t *testing.T, a *webtest.App, email string) *client {
	t.Helper()
	ns, err := a.Accounts.Login(context.Background(), account.Login{Email: email, Password: webtest.Password, Address: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(a.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: account.CookieName, Value: ns.Token, Path: "/"}})
	return &client{t: t, e: &coreEnv{srv: &httptest.Server{URL: a.URL}}, hdr: http.Header{}, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func newCollabWorld(t *testing.T, dbURL string) *collabWorld {
	t.Helper()
	a := webtest.NewApp(t, dbURL)
	w := &collabWorld{t: t, a: a, creators: map[string]string{}, ids: map[string]string{}, apps: map[string]string{}, posts: map[string]string{}}
	ctx := context.Background()
	owner := a.NewBrand(t, "Glow Labs", "ann@glow.example")
	nk, err := a.Identity.Issue(ctx, owner.Principal(), "", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	w.key = nk.Secret
	w.brand = browserFor(t, a, "ann@glow.example")
	admin := webtest.AdminToken

	var camp obj
	w.api(201, "POST", "/v1/campaigns", w.key, fmt.Sprintf(`{"name":%q,"budget":{"amount":"100","currency":"EUR"}}`, campaignName), &camp)
	w.campaign = camp["id"].(string)
	start := a.Clock.Now()
	w.api(200, "PUT", "/v1/campaigns/"+w.campaign+"/setup", w.key, fmt.Sprintf(`{
		"goal": {"primary": "roas", "primary_target": "3"},
		"brief": {"product": "Glow serum", "message": "Morning routine", "required_hashtags": ["#GlowSerum"], "landing_url": "https://glow.example/serum"},
		"prices": {"view": "0.002", "like": "0.05", "comment": "0.25"},
		"performance": {"commission_bps": 1000, "cpa": "2", "flat_fee": "5", "attribution_window_days": 7},
		"content_approval": true, "creator_cap": "8",
		"starts_at": %q, "ends_at": %q,
		"eligibility": {"platforms": ["sandbox"]}}`, start.Format(time.RFC3339Nano), start.Add(30*24*time.Hour).Format(time.RFC3339)), nil)
	w.api(201, "POST", "/v1/campaigns/"+w.campaign+"/fund", w.key, `{"payment":{"reference":"pay-1"}}`, nil)
	w.api(200, "POST", "/v1/campaigns/"+w.campaign+"/open", w.key, "", nil)

	for i, h := range []string{"ana", "ben", "cleo"} {
		var rc obj
		w.api(201, "POST", "/v1/creators", admin, fmt.Sprintf(`{"name":%q,"country":"DE"}`, h+" "+strings.ToUpper(h)), &rc)
		w.creators[h], w.ids[h] = rc["api_key"].(string), rc["creator"].(obj)["id"].(string)
		w.api(201, "POST", "/sandbox/driver/accounts", admin, fmt.Sprintf(`{"handle":%q,"followers":%d}`, h, 12000+1000*i), nil)
		w.connect(h)
		pitch := "hi"
		if h == "ana" {
			pitch = anaPitch
		}
		var app obj
		w.api(201, "POST", "/v1/campaigns/"+w.campaign+"/applications", w.creators[h], fmt.Sprintf(`{"pitch":%q}`, pitch), &app)
		w.apps[h] = app["id"].(string)
	}
	return w
}

// connect runs the creator's OAuth flow with the sandbox platform.
func (w *collabWorld) connect(h string) {
	w.t.Helper()
	var conn obj
	w.api(201, "POST", "/v1/creator/connections", w.creators[h], fmt.Sprintf(`{"platform":"sandbox","handle":%q}`, h), &conn)
	nb := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := nb.Get(conn["authorize_url"].(string))
	if err != nil {
		w.t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		w.t.Fatal(err)
	}
	w.api(200, "GET", loc.Path+"?"+loc.RawQuery, "", "", nil)
}

// decideAndPost accepts ana (page, unless a browser did: acceptAna false)
// and ben (API), rejects cleo (page), and has ana and ben publish and
// submit a post (waiting for approval).
func (w *collabWorld) decideAndPost(acceptAna bool) {
	t := w.t
	t.Helper()
	if acceptAna {
		res, body := w.brand.post("/campaigns/"+w.campaign+"/applications/"+w.apps["ana"]+"/accept", nil)
		wantRedirect(t, res, body, "/campaigns/"+w.campaign+"/applications")
	}
	res, body := w.brand.post("/campaigns/"+w.campaign+"/applications/"+w.apps["cleo"]+"/reject", nil)
	wantRedirect(t, res, body, "/campaigns/"+w.campaign+"/applications")
	w.api(200, "POST", "/v1/applications/"+w.apps["ben"]+"/accept", w.key, "", nil)
	w.a.Clock.Advance(time.Minute)
	for _, h := range []string{"ana", "ben"} {
		var sp, p obj
		w.api(201, "POST", "/sandbox/driver/accounts/"+h+"/posts", webtest.AdminToken, `{"caption":"Morning glow #GlowSerum #ad","type":"reel"}`, &sp)
		w.api(201, "POST", "/v1/campaigns/"+w.campaign+"/posts", w.creators[h], fmt.Sprintf(`{"platform":"sandbox","media":%q}`, sp["id"]), &p)
		if p["state"] != engage.PostPendingApproval {
			t.Fatalf("post of %s is %v; want pending_approval", h, p["state"])
		}
		w.posts[h] = p["id"].(string)
		w.sandboxPosts = append(w.sandboxPosts, sp["id"].(string))
	}
}

// approveBillAndConvert approves the posts (ana's on the page, unless a
// browser did: approveAna false), grows them, ticks, makes ana's code and
// ben's link on the page, and converts two orders (one refunded in part).
func (w *collabWorld) approveBillAndConvert(approveAna bool) {
	t := w.t
	t.Helper()
	if approveAna {
		res, body := w.brand.post("/campaigns/"+w.campaign+"/posts/"+w.posts["ana"]+"/approve", nil)
		wantRedirect(t, res, body, "/campaigns/"+w.campaign+"/posts")
	}
	w.api(200, "POST", "/v1/posts/"+w.posts["ben"]+"/approve", w.key, "", nil)
	w.tick() // the baseline read after approval
	w.api(200, "POST", "/sandbox/driver/posts/"+w.sandboxPosts[0]+"/counts", webtest.AdminToken, `{"views":1234,"likes":17}`, nil)
	w.api(200, "POST", "/sandbox/driver/posts/"+w.sandboxPosts[1]+"/counts", webtest.AdminToken, `{"comments":3,"views":501}`, nil)
	w.tick()

	res, body := w.brand.post("/campaigns/"+w.campaign+"/codes", url.Values{"creator_id": {w.ids["ana"]}, "code": {"ANA10"}})
	wantRedirect(t, res, body, "/campaigns/"+w.campaign+"/codes")
	res, body = w.brand.post("/campaigns/"+w.campaign+"/links", url.Values{"creator_id": {w.ids["ben"]}, "placement": {"bio"}, "medium": {"influencer"}})
	wantRedirect(t, res, body, "/campaigns/"+w.campaign+"/codes")
	var ls struct{ Data []links.Link }
	w.api(200, "GET", "/v1/campaigns/"+w.campaign+"/links", w.key, "", &ls)
	if len(ls.Data) != 1 {
		t.Fatalf("links %+v", ls.Data)
	}
	click := w.click(ls.Data[0].ShortURL)
	w.a.Clock.Advance(time.Hour)
	w.api(201, "POST", "/v1/conversions", w.key, `{"order_id":"web-1","amount":{"amount":"80","currency":"EUR"},"code":"ana10"}`, nil)
	w.api(201, "POST", "/v1/conversions", w.key, `{"order_id":"web-2","amount":{"amount":"45.50","currency":"EUR"},"click_id":"`+click+`"}`, nil)
	w.api(200, "POST", "/v1/conversions/web-1/refunds", w.key, `{"refund_id":"r1","amount":{"amount":"8","currency":"EUR"}}`, nil)
	// An hour passed: the brand's session went idle; sign in again.
	w.brand.c.Jar = browserFor(t, w.a, "ann@glow.example").c.Jar
}

func (w *collabWorld) tick() {
	w.t.Helper()
	w.a.Clock.Advance(time.Minute)
	w.api(200, "POST", "/v1/admin/engagement/tick", webtest.AdminToken, "", nil)
}

func (w *collabWorld) click(shortURL string) string {
	w.t.Helper()
	nb := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", shortURL, nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148")
	res, err := nb.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		w.t.Fatalf("short link: %d %v", res.StatusCode, err)
	}
	if err := w.a.Links.Recorder.Flush(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	return loc.Query().Get("click_id")
}

func (w *collabWorld) earnings() []engage.Earning {
	w.t.Helper()
	var es struct{ Data []engage.Earning }
	w.api(200, "GET", "/v1/campaigns/"+w.campaign+"/earnings", w.key, "", &es)
	return es.Data
}

// row returns the HTML of the table row or element with id, up to its end.
func row(t *testing.T, body, id, end string) string {
	t.Helper()
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no element %s on the page:\n%s", id, body)
	}
	j := strings.Index(body[i:], end)
	if j < 0 {
		t.Fatalf("element %s does not end", id)
	}
	return body[i : i+j]
}

func m(a money.Amount) string { return html.EscapeString(web.CollabMoney(a)) }

// TestCollabPagesShowTheAPIFigures builds a whole campaign on both stores
// and checks each page against the API's JSON, to the micro-unit: creator
// cards, posts, codes and links, conversions, earnings and their evidence,
// whose readings sum to the gross.
func TestCollabPagesShowTheAPIFigures(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newCollabWorld(t, dbURL)
		c := w.brand
		base := "/campaigns/" + w.campaign

		// Applications: one card each, with the domain's accounts.
		res, body := c.get(base + "/applications")
		wantStatus(t, res, body, 200)
		var apps struct{ Data []market.Reviewed }
		w.api(200, "GET", "/v1/campaigns/"+w.campaign+"/applications", w.key, "", &apps)
		if len(apps.Data) != 3 {
			t.Fatalf("%d applications", len(apps.Data))
		}
		for _, ap := range apps.Data {
			card := row(t, body, "app-"+ap.ID, "</article>")
			acc := ap.Creator.Accounts[0]
			wantContains(t, card, ap.Creator.Handle(), web.CollabNum(acc.Followers.Value)+"</td>", string(acc.Tier), string(acc.Platform),
				"/applications/"+ap.ID+"/accept")
			if acc.EngagementRatePPM != nil {
				wantContains(t, card, web.CollabPct(*acc.EngagementRatePPM))
			}
		}
		wantContains(t, body, html.EscapeString(anaPitch), "Serum &lt;script&gt;alert(1)&lt;/script&gt;")
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Fatal("a user string is not escaped")
		}

		// Accept and reject act as the API does.
		w.decideAndPost(true)
		w.api(200, "GET", "/v1/campaigns/"+w.campaign+"/applications", w.key, "", &apps)
		for _, ap := range apps.Data {
			want := map[string]string{w.ids["ana"]: "accepted", w.ids["ben"]: "accepted", w.ids["cleo"]: "rejected"}[ap.CreatorID]
			if ap.State != want || ap.DecidedAt.IsZero() {
				t.Errorf("application of %s is %s (decided %v); want %s", ap.CreatorID, ap.State, ap.DecidedAt, want)
			}
		}
		// Deciding again is refused on the page with the domain's reason.
		res, body = c.post(base+"/applications/"+w.apps["ana"]+"/reject", nil)
		wantStatus(t, res, body, http.StatusConflict)
		wantContains(t, body, `class="form-error"`, "already accepted")
		var flat int
		for _, e := range w.earnings() {
			if e.Kind == engage.KindFlatFee {
				flat++
			}
		}
		if flat != 2 {
			t.Fatalf("%d flat fees after two acceptances; want 2", flat)
		}

		// Posts: waiting for approval, with the forms; approve acts as the API.
		res, body = c.get(base + "/posts")
		wantStatus(t, res, body, 200)
		wantContains(t, body, "/posts/"+w.posts["ana"]+"/approve", "/posts/"+w.posts["ben"]+"/reject", "pending_approval", "#GlowSerum", "Content approval is on")
		w.approveBillAndConvert(true)
		var posts struct{ Data []engage.Post }
		w.api(200, "GET", "/v1/campaigns/"+w.campaign+"/posts", w.key, "", &posts)
		res, body = c.get(base + "/posts")
		wantStatus(t, res, body, 200)
		for _, p := range posts.Data {
			if p.State != engage.PostLive {
				t.Errorf("post %s is %s after approval; want live", p.ID, p.State)
			}
			r := row(t, body, "post-"+p.ID, "</tr>")
			wantContains(t, r, m(money.New(p.Requested, "EUR")), ">live<", "follows the brief")
			if strings.Contains(r, "/approve") {
				t.Errorf("a live post still offers approval: %s", r)
			}
		}

		// Codes and links, as the API lists them, with copy buttons.
		res, body = c.get(base + "/codes")
		wantStatus(t, res, body, 200)
		var codes struct{ Data []attrib.Code }
		w.api(200, "GET", "/v1/campaigns/"+w.campaign+"/codes", w.key, "", &codes)
		var ls struct{ Data []links.Link }
		w.api(200, "GET", "/v1/campaigns/"+w.campaign+"/links", w.key, "", &ls)
		if len(codes.Data) != 1 || codes.Data[0].Code != "ANA10" || len(ls.Data) != 1 {
			t.Fatalf("codes %+v links %+v", codes.Data, ls.Data)
		}
		wantContains(t, row(t, body, "code-"+codes.Data[0].ID, "</tr>"), `data-copy="ANA10"`, ">ANA10</code>", ">ana<")
		lr := row(t, body, "link-"+ls.Data[0].ID, "</tr>")
		wantContains(t, lr, `data-copy="`+ls.Data[0].ShortURL+`"`, ">ben<", web.CollabNum(ls.Data[0].Clicks.Human)+"</td>")
		// A refused code is shown beside its field, the form kept.
		res, body = c.post(base+"/codes", url.Values{"creator_id": {w.ids["ben"]}, "code": {"x"}})
		wantStatus(t, res, body, http.StatusBadRequest)
		wantContains(t, body, `id="f-code-code-error"`, `value="x"`)

		// Conversions.
		res, body = c.get(base + "/conversions")
		wantStatus(t, res, body, 200)
		var convs struct{ Data []attrib.Conversion }
		w.api(200, "GET", "/v1/campaigns/"+w.campaign+"/conversions", w.key, "", &convs)
		if len(convs.Data) != 2 {
			t.Fatalf("%d conversions", len(convs.Data))
		}
		for _, cv := range convs.Data {
			r := row(t, body, "order-"+cv.OrderID, "</tr>")
			wantContains(t, r, cv.ExternalID, m(cv.Amount), m(cv.Refunded), m(cv.Commission), m(cv.CPA))
			if cv.Method == "code" {
				wantContains(t, r, ">ana<", "code <code>"+cv.Code)
			} else {
				wantContains(t, r, ">ben<", "a click on the bio link", web.CollabDateTime(cv.Clicked))
			}
		}

		// Earnings: every one of the API's, each figure.
		es := w.earnings()
		res, body = c.get(base + "/earnings")
		wantStatus(t, res, body, 200)
		kinds := map[string]int{}
		for _, e := range es {
			kinds[e.Kind]++
			r := row(t, body, "earning-"+e.ID, "</tr>")
			wantContains(t, r, m(e.Gross), m(e.Fee), m(e.Net), ">"+e.Kind+"<", e.State)
		}
		if kinds[engage.KindInteractions] != 2 || kinds[engage.KindCommission] == 0 || kinds[engage.KindFlatFee] != 2 {
			t.Fatalf("earnings by kind %v", kinds)
		}
		// The filter is the API's filter.
		var anas struct{ Data []engage.Earning }
		w.api(200, "GET", "/v1/campaigns/"+w.campaign+"/earnings?creator_id="+w.ids["ana"], w.key, "", &anas)
		res, body = c.get(base + "/earnings?creator=" + w.ids["ana"])
		wantStatus(t, res, body, 200)
		if n := strings.Count(body, `id="earning-`); n != len(anas.Data) {
			t.Fatalf("%d earnings shown for ana; the API lists %d", n, len(anas.Data))
		}

		// Evidence of each earning: the API's, and on the page. ana's cap
		// (€8, €5 of it her flat fee) cuts her interactions earning.
		cut := 0
		for _, e := range es {
			var ev attrib.Evidence
			w.api(200, "GET", "/v1/earnings/"+e.ID+"/evidence", w.key, "", &ev)
			res, body := c.get(base + "/earnings/" + e.ID)
			wantStatus(t, res, body, 200)
			wantContains(t, row(t, body, "gross", "</dd>"), m(e.Gross))
			wantContains(t, row(t, body, "fee", "</dd>"), m(e.Fee))
			wantContains(t, row(t, body, "net", "</dd>"), m(e.Net))
			switch e.Kind {
			case engage.KindInteractions:
				if len(ev.Readings) == 0 {
					t.Fatalf("interactions earning %s has no readings", e.ID)
				}
				var sum int64
				wantContains(t, row(t, body, "read-at", "</strong>"), web.CollabDateTime(e.AccruedAt))
				tbl := row(t, body, "readings", "</table>")
				rows := strings.Split(tbl[strings.Index(tbl, "<tbody>"):strings.Index(tbl, "</tbody>")], "</tr>")
				for i, rd := range ev.Readings {
					sum += rd.Amount.Micros
					if !rd.After.Known || rd.After.Value-rd.Before.Value != rd.Growth || rd.Priced.Micros != rd.Price.Micros*rd.Growth {
						t.Errorf("reading %+v: counts or price do not add up", rd)
					}
					wantContains(t, rows[i], ">"+rd.Metric+"<", web.CollabNum(rd.Before.Value)+"</td>", web.CollabNum(rd.After.Value)+"</td>",
						web.CollabNum(rd.Growth)+"</td>", m(rd.Price), m(rd.Amount))
					if rd.ReadAt != e.AccruedAt {
						t.Errorf("reading read at %v; the earning accrued at %v", rd.ReadAt, e.AccruedAt)
					}
				}
				if e.Requested.Micros > e.Gross.Micros {
					cut++
					wantContains(t, row(t, body, "requested", "</dd>"), m(e.Requested))
				}
				if sum != e.Gross.Micros {
					t.Fatalf("earning %s: readings sum to %d µ; gross is %d µ", e.ID, sum, e.Gross.Micros)
				}
				if strings.Count(tbl, "<tr>") != len(ev.Readings)+2 {
					t.Fatalf("earning %s: %d readings in the API, table:\n%s", e.ID, len(ev.Readings), tbl)
				}
			case engage.KindCommission, engage.KindCPA:
				if ev.Order == nil || ev.Conversion == nil || ev.Order.ID != e.Source {
					t.Fatalf("earning %s evidence %+v", e.ID, ev)
				}
				wantContains(t, row(t, body, "order-facts", "</dl>"), ev.Order.ExternalID, m(ev.Order.Amount), m(ev.Conversion.Commission), m(ev.Conversion.CPA))
				wantContains(t, row(t, body, "paid", "</dd>"), m(e.Gross))
			case engage.KindFlatFee:
				if ev.Application == nil || ev.Application.CreatorID != e.CreatorID || ev.Application.State != "accepted" {
					t.Fatalf("flat fee %s evidence %+v", e.ID, ev.Application)
				}
				wantContains(t, row(t, body, "application-facts", "</dl>"), ev.Application.ID, m(e.Gross))
			}
		}
		if cut == 0 {
			t.Fatal("no interactions earning was cut by the creator's cap: the split of the gross is not exercised")
		}
		// The creator sees their own evidence without the order; not another's.
		for _, e := range es {
			var ev attrib.Evidence
			switch {
			case e.CreatorID == w.ids["ana"]:
				w.api(200, "GET", "/v1/earnings/"+e.ID+"/evidence", w.creators["ana"], "", &ev)
				if ev.Order != nil {
					t.Fatalf("a creator is shown the order %+v", ev.Order)
				}
			default:
				w.api(404, "GET", "/v1/earnings/"+e.ID+"/evidence", w.creators["ana"], "", nil)
			}
		}
	})
}

// TestCollabActionsActAsTheAPI holds, releases and voids earnings through
// the pages and reads the outcome from the API; a hold without a reason is
// refused beside its field and changes nothing. Another brand sees none of
// it: every page and action answers 404.
func TestCollabActionsActAsTheAPI(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newCollabWorld(t, dbURL)
		w.decideAndPost(true)
		w.approveBillAndConvert(true)
		c := w.brand
		base := "/campaigns/" + w.campaign
		var inter []engage.Earning
		var flat engage.Earning
		for _, e := range w.earnings() {
			switch e.Kind {
			case engage.KindInteractions:
				inter = append(inter, e)
			case engage.KindFlatFee:
				flat = e
			}
		}
		if len(inter) != 2 {
			t.Fatalf("%d interactions earnings", len(inter))
		}
		state := func(id string) engage.Earning {
			t.Helper()
			for _, e := range w.earnings() {
				if e.ID == id {
					return e
				}
			}
			t.Fatalf("earning %s gone", id)
			return engage.Earning{}
		}

		// Hold without a reason: refused, shown, nothing changed.
		res, body := c.post(base+"/earnings/"+inter[0].ID+"/hold", url.Values{"reason": {""}})
		wantStatus(t, res, body, http.StatusBadRequest)
		wantContains(t, body, `id="f-reason-error"`, "say why")
		if e := state(inter[0].ID); e.State != engage.EarningHeld {
			t.Fatalf("a refused hold left the earning %s", e.State)
		}
		// Hold with a reason (kept in the list's filter), then release.
		res, body = c.post(base+"/earnings/"+inter[0].ID+"/hold", url.Values{"reason": {"checking <b>bots</b>"}, "state": {"held"}})
		wantRedirect(t, res, body, base+"/earnings?state=held")
		if e := state(inter[0].ID); e.State != engage.EarningOnHold || e.ReviewReason != "checking <b>bots</b>" {
			t.Fatalf("after hold: %s %q", e.State, e.ReviewReason)
		}
		res, body = c.get(base + "/earnings?state=on_hold")
		wantStatus(t, res, body, 200)
		wantContains(t, body, "checking &lt;b&gt;bots&lt;/b&gt;", `id="earning-`+inter[0].ID+`"`)
		res, body = c.post(base+"/earnings/"+inter[0].ID+"/release", url.Values{"reason": {"fine"}, "from": {"evidence"}})
		wantRedirect(t, res, body, base+"/earnings/"+inter[0].ID)
		if e := state(inter[0].ID); e.State != engage.EarningReleased || e.ResolvedAt == 0 {
			t.Fatalf("after release: %+v", e)
		}
		// Void: the escrow gets the gross back, as the API says.
		var before, after obj
		w.api(200, "GET", "/v1/campaigns/"+w.campaign+"/money", w.key, "", &before)
		res, body = c.post(base+"/earnings/"+flat.ID+"/void", url.Values{"reason": {"left the campaign"}})
		wantRedirect(t, res, body, base+"/earnings")
		if e := state(flat.ID); e.State != engage.EarningVoided || e.ReviewReason != "left the campaign" {
			t.Fatalf("after void: %+v", e)
		}
		w.api(200, "GET", "/v1/campaigns/"+w.campaign+"/money", w.key, "", &after)
		if fmt.Sprint(before) == fmt.Sprint(after) {
			t.Fatalf("voiding changed nothing in the campaign's money: %v", after)
		}
		// A decided earning: the domain's conflict, on the page.
		res, body = c.post(base+"/earnings/"+flat.ID+"/release", url.Values{})
		wantStatus(t, res, body, http.StatusConflict)
		wantContains(t, body, "already voided")

		// A second post of ben's, rejected on the page with a reason: the API
		// says so, and the page shows the reason escaped.
		var sp, p2 obj
		w.api(201, "POST", "/sandbox/driver/accounts/ben/posts", webtest.AdminToken, `{"caption":"Again #GlowSerum #ad","type":"reel"}`, &sp)
		w.api(201, "POST", "/v1/campaigns/"+w.campaign+"/posts", w.creators["ben"], fmt.Sprintf(`{"platform":"sandbox","media":%q}`, sp["id"]), &p2)
		pid := p2["id"].(string)
		res, body = c.post(base+"/posts/"+pid+"/reject", url.Values{"reason": {"<i>off-brief</i>"}})
		wantRedirect(t, res, body, base+"/posts")
		var got engage.Post
		w.api(200, "GET", "/v1/posts/"+pid, w.key, "", &got)
		if got.State != engage.PostRejected || got.StateReason != "<i>off-brief</i>" {
			t.Fatalf("post after reject on the page: %s %q", got.State, got.StateReason)
		}
		res, body = c.get(base + "/posts")
		wantContains(t, row(t, body, "post-"+pid, "</tr>"), "rejected", "&lt;i&gt;off-brief&lt;/i&gt;")
		res, body = c.post(base+"/posts/"+pid+"/approve", nil)
		wantStatus(t, res, body, http.StatusConflict)

		// Another brand: 404 on every page and action, nothing changed.
		w.a.NewBrand(t, "Other Co", "olga@other.example")
		o := browserFor(t, w.a, "olga@other.example")
		for _, p := range []string{"/applications", "/posts", "/codes", "/conversions", "/earnings", "/earnings/" + inter[1].ID} {
			res, body := o.get(base + p)
			wantStatus(t, res, body, http.StatusNotFound)
		}
		for _, p := range []string{"/earnings/" + inter[1].ID + "/void", "/earnings/" + inter[1].ID + "/release", "/posts/" + w.posts["ana"] + "/approve",
			"/applications/" + w.apps["cleo"] + "/accept"} {
			res, body := o.post(base+p, url.Values{"reason": {"x"}})
			wantStatus(t, res, body, http.StatusNotFound)
		}
		res, body = o.post(base+"/codes", url.Values{"creator_id": {w.ids["ben"]}, "code": {"OLGA10"}})
		wantStatus(t, res, body, http.StatusNotFound)
		if e := state(inter[1].ID); e.State != engage.EarningHeld {
			t.Fatalf("another brand's void left the earning %s", e.State)
		}
		w.api(404, "GET", "/v1/earnings/"+inter[1].ID+"/evidence", mustKey(t, w.a, "olga@other.example"), "", nil)
		// The brand's own earning under another campaign's address: 404.
		var other obj
		w.api(201, "POST", "/v1/campaigns", w.key, `{"name":"Other","budget":{"amount":"10","currency":"EUR"}}`, &other)
		res, body = c.get("/campaigns/" + other["id"].(string) + "/earnings/" + inter[1].ID)
		wantStatus(t, res, body, http.StatusNotFound)
	})
}

// mustKey issues an API key for the user with email.
func mustKey(t *testing.T, a *webtest.App, email string) string {
	t.Helper()
	s, err := a.Accounts.Login(context.Background(), account.Login{Email: email, Password: webtest.Password, Address: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	nk, err := a.Identity.Issue(context.Background(), s.User.Principal(), "", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	return nk.Secret
}
