package sandbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/platform"
)

// Cheats: the sandbox can play a cheating creator (and an honest one whose
// post goes viral, the case a detector must not flag), so payper's fraud
// detectors can be tried against the real pipeline. Each cheat is one step
// of what the published studies describe (../shared/reference/fraud.md);
// a caller repeats steps over polls to play it out.

// Cheat kinds.
const (
	// CheatLikeFarm adds Amount likes at once with few views and generic
	// comments (one per 200 likes): a like farm's burst (De Cristofaro et
	// al., IMC 2014; Sen et al. 2018 — likes without the views behind them).
	CheatLikeFarm = "like_farm"
	// CheatViewBots adds Amount views with almost no likes (one per
	// 1,000) and no comments: bought views (Marciel et al. 2016).
	CheatViewBots = "view_bots"
	// CheatRemoveLikes takes Amount likes away: the platform removing fake
	// likes it found, the counter falling back.
	CheatRemoveLikes = "remove_likes"
	// CheatViral adds Amount views and, with them, likes, comments, shares
	// and saves in the post's own proportions (defaults for a new post),
	// each within ±15 %: an honest post's steep but organic rise.
	CheatViral = "viral"
	// CheatBuyFollowers adds Amount followers to an account at once.
	CheatBuyFollowers = "buy_followers"
	// CheatPurgeFollowers takes Amount followers away (not below zero): the
	// platform purging bought followers.
	CheatPurgeFollowers = "purge_followers"
)

// Cheat is one cheat step: its kind, how much, and a seed for its
// randomness (0 for a fixed one).
type Cheat struct {
	Kind   string `json:"kind"`
	Amount int64  `json:"amount"`
	Seed   uint64 `json:"seed,omitempty"`
}

// Organic proportions of a new post's engagement, per view.
const (
	viralLikes    = 0.06
	viralComments = 0.003
	viralShares   = 0.004
	viralSaves    = 0.005
)

// CheatPost plays cheat c on the post: like_farm, view_bots, remove_likes
// or viral. It returns the post after, or Invalid for another kind or a
// negative amount, NotFound for an unknown post.
func (w *World) CheatPost(ctx context.Context, postID string, c Cheat) (Post, error) {
	if c.Amount < 0 {
		return Post{}, errs.Invalidf("amount", "negative", "amount must not be negative, got %d", c.Amount)
	}
	n := c.Amount
	switch c.Kind {
	case CheatLikeFarm:
		return w.AddCounts(ctx, postID, Delta{Likes: n, Views: n / 50, Comments: n / 200})
	case CheatViewBots:
		return w.AddCounts(ctx, postID, Delta{Views: n, Likes: n / 1000})
	case CheatRemoveLikes:
		return w.updateCounts(ctx, postID, func(cs *platform.Counts) error {
			if cs.Likes.Known {
				cs.Likes.Value = max(0, cs.Likes.Value-n)
			}
			return nil
		})
	case CheatViral:
		r := rand.New(rand.NewPCG(c.Seed, 0x5eed))
		return w.updateCounts(ctx, postID, func(cs *platform.Counts) error {
			ratio := func(m platform.Count, def float64) float64 {
				if cs.Views.Known && cs.Views.Value >= 1000 && m.Known && m.Value > 0 {
					return float64(m.Value) / float64(cs.Views.Value)
				}
				return def
			}
			jitter := func() float64 { return 0.85 + 0.3*r.Float64() }
			add := func(m *platform.Count, per float64) {
				if m.Known {
					m.Value += int64(float64(n) * per * jitter())
				}
			}
			l, cm, sh, sv := ratio(cs.Likes, viralLikes), ratio(cs.Comments, viralComments), ratio(cs.Shares, viralShares), ratio(cs.Saves, viralSaves)
			add(&cs.Likes, l)
			add(&cs.Comments, cm)
			add(&cs.Shares, sh)
			add(&cs.Saves, sv)
			if cs.Views.Known {
				cs.Views.Value += n
			}
			return nil
		})
	}
	return Post{}, errs.Invalidf("kind", "unknown_cheat", "a post's cheat is one of %s, %s, %s, %s; got %q",
		CheatLikeFarm, CheatViewBots, CheatRemoveLikes, CheatViral, c.Kind)
}

// CheatAccount plays cheat c on the account (id or handle): buy_followers
// or purge_followers. It returns the account after; Invalid for another
// kind, a negative amount or hidden followers; NotFound for an unknown
// account.
func (w *World) CheatAccount(ctx context.Context, account string, c Cheat) (Account, error) {
	if c.Amount < 0 {
		return Account{}, errs.Invalidf("amount", "negative", "amount must not be negative, got %d", c.Amount)
	}
	if c.Kind != CheatBuyFollowers && c.Kind != CheatPurgeFollowers {
		return Account{}, errs.Invalidf("kind", "unknown_cheat", "an account's cheat is %s or %s; got %q", CheatBuyFollowers, CheatPurgeFollowers, c.Kind)
	}
	a, err := w.Account(ctx, account)
	if err != nil {
		return Account{}, err
	}
	if !a.Followers.Known {
		return Account{}, errs.Invalidf("account", "followers_hidden", "@%s hides its follower count", a.Handle)
	}
	v := a.Followers.Value + c.Amount
	if c.Kind == CheatPurgeFollowers {
		v = max(0, a.Followers.Value-c.Amount)
	}
	return w.SetFollowers(ctx, a.ID, platform.Count{Known: true, Value: v})
}

// Visit is one request a click farm or a self-purchaser sends to a
// payper short link: from IP with UserAgent, After since the first.
type Visit struct {
	IP        string        `json:"ip"`
	UserAgent string        `json:"user_agent"`
	After     time.Duration `json:"after_ns"`
}

// farmAgents are the phones a click farm rotates through.
var farmAgents = []string{
	"Mozilla/5.0 (Linux; Android 10; SM-A105F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Linux; Android 11; Redmi Note 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 15_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6 Mobile/15E148 Safari/604.1",
}

// ClickFarm returns n visits of a click farm over span: devices phones
// behind a few addresses (one /24 of a mobile carrier), clicking again and
// again, plus one visit in five from a data-centre address (a farm's
// proxies). Seeded: the same arguments give the same visits.
func ClickFarm(n, devices int, span time.Duration, seed uint64) []Visit {
	r := rand.New(rand.NewPCG(seed, 0xc11c))
	devices = max(devices, 1)
	out := make([]Visit, n)
	for i := range out {
		d := r.IntN(devices)
		v := Visit{IP: fmt.Sprintf("100.64.7.%d", 1+d%250), UserAgent: farmAgents[d%len(farmAgents)] + fmt.Sprintf(" farm/%d", d)}
		if r.IntN(5) == 0 {
			v.IP = fmt.Sprintf("167.99.%d.%d", r.IntN(256), 1+r.IntN(254)) // DigitalOcean
		}
		if span > 0 {
			v.After = time.Duration(r.Int64N(int64(span)))
		}
		out[i] = v
	}
	return out
}

// SelfPurchase is a creator buying through their own link: the visit that
// clicks, and the order placed from the same address and browser a few
// seconds later with the creator's own address dressed up (a +tag, Gmail
// dots moved).
type SelfPurchase struct {
	Visit         Visit         `json:"visit"`
	OrderAfter    time.Duration `json:"order_after_ns"`
	CustomerEmail string        `json:"customer_email"`
}

// SelfPurchases returns n self-purchases by the creator whose address is
// email, seeded.
func SelfPurchases(email string, n int, seed uint64) []SelfPurchase {
	r := rand.New(rand.NewPCG(seed, 0x5e1f))
	out := make([]SelfPurchase, n)
	local, domain := email, ""
	for i := range email {
		if email[i] == '@' {
			local, domain = email[:i], email[i:]
		}
	}
	for i := range out {
		e := local + fmt.Sprintf("+order%d", i) + domain
		if domain == "@gmail.com" && len(local) > 1 {
			k := 1 + r.IntN(len(local)-1)
			e = local[:k] + "." + local[k:] + domain
		}
		out[i] = SelfPurchase{
			Visit: Visit{IP: fmt.Sprintf("81.2.%d.%d", r.IntN(256), 1+r.IntN(254)), After: time.Duration(i) * time.Hour,
				UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"},
			OrderAfter:    time.Duration(2+r.IntN(6)) * time.Second,
			CustomerEmail: e,
		}
	}
	return out
}

// cheatRoutes registers the cheat routes on the driver (under p):
//
//	POST /posts/{id}/cheat          {"kind","amount","seed"?} → post
//	POST /accounts/{account}/cheat  {"kind","amount"} → account
//	POST /cheats/click-farm         {"clicks","devices","seconds","seed"} → {"data":[visit…]}
//	POST /cheats/self-purchases     {"email","orders","seed"} → {"data":[self-purchase…]}
//
// The last two say what to send (the driver cannot click payper's links or
// pay in a store itself): replay the visits against the short link, and
// the orders through the sandbox store.
func (d *DriverHandler) cheatRoutes(p string) {
	d.mux.HandleFunc("POST "+p+"/posts/{id}/cheat", func(rw http.ResponseWriter, r *http.Request) {
		var c Cheat
		if err := decode(rw, r, &c); err != nil {
			d.fail(rw, r, err)
			return
		}
		post, err := d.world.CheatPost(r.Context(), r.PathValue("id"), c)
		if err != nil {
			d.fail(rw, r, err)
			return
		}
		writeJSON(rw, http.StatusOK, post)
	})
	d.mux.HandleFunc("POST "+p+"/accounts/{account}/cheat", func(rw http.ResponseWriter, r *http.Request) {
		var c Cheat
		if err := decode(rw, r, &c); err != nil {
			d.fail(rw, r, err)
			return
		}
		a, err := d.world.CheatAccount(r.Context(), r.PathValue("account"), c)
		if err != nil {
			d.fail(rw, r, err)
			return
		}
		writeJSON(rw, http.StatusOK, a)
	})
	d.mux.HandleFunc("POST "+p+"/cheats/click-farm", func(rw http.ResponseWriter, r *http.Request) {
		var in struct {
			Clicks, Devices, Seconds int
			Seed                     uint64
		}
		if err := decode(rw, r, &in); err != nil {
			d.fail(rw, r, err)
			return
		}
		if in.Clicks <= 0 || in.Clicks > 100_000 {
			d.fail(rw, r, errs.Invalidf("clicks", "out_of_range", "clicks must be 1 to 100000"))
			return
		}
		writeJSON(rw, http.StatusOK, list[Visit]{Data: ClickFarm(in.Clicks, in.Devices, time.Duration(in.Seconds)*time.Second, in.Seed)})
	})
	d.mux.HandleFunc("POST "+p+"/cheats/self-purchases", func(rw http.ResponseWriter, r *http.Request) {
		var in struct {
			Email  string
			Orders int
			Seed   uint64
		}
		if err := decode(rw, r, &in); err != nil {
			d.fail(rw, r, err)
			return
		}
		if in.Orders <= 0 || in.Orders > 1000 || in.Email == "" {
			d.fail(rw, r, errs.Invalidf("orders", "out_of_range", "an email and 1 to 1000 orders are needed"))
			return
		}
		writeJSON(rw, http.StatusOK, list[SelfPurchase]{Data: SelfPurchases(in.Email, in.Orders, in.Seed)})
	})
}
