package campaign_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
)

// A brand's setup as the API receives it: decode, normalize, validate, then
// ask the advisor.
func ExampleSetup() {
	body := `{
		"goal": {"primary": "roas", "primary_target": "3.5", "secondary": "cpe", "secondary_target": "0.08"},
		"brief": {"product": "Glow serum", "message": "Show your morning routine",
			"required_hashtags": ["GlowUp"], "landing_url": "https://shop.example/glow"},
		"prices": {"like": "0.02"},
		"ends_at": "2026-07-01T00:00:00Z",
		"eligibility": {"platforms": ["instagram"], "countries": ["de", "at"]}
	}`
	var s campaign.Setup
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		fmt.Println(err)
		return
	}
	s.Normalize()
	budget := money.New(150*money.Scale, money.EUR)
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if err := s.Validate(budget, now); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Brief.RequiredHashtags, s.Brief.Disclosure, s.Eligibility.Countries,
		s.Eligibility.MinFollowers, s.Eligibility.MaxFollowers)
	for _, w := range campaign.Advise(s, budget, campaign.DefaultFXRates()) {
		fmt.Println(w.Code, w.Field)
	}
	// Output:
	// [#glowup] #ad [DE AT] 1000 25000
	// only_likes_priced prices
	// budget_below_minimum budget
}

// Every invalid field is reported at once, by its JSON name.
func ExampleSetup_Validate() {
	s := campaign.Setup{
		Goal:   campaign.Goal{Primary: campaign.MetricCPE, PrimaryTarget: 50_000},
		Brief:  campaign.Brief{Product: "Serum", Message: "Hi", LandingURL: "http://shop.example"},
		Prices: campaign.Prices{Share: -1},
		EndsAt: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
	}
	s.Normalize()
	err := s.Validate(money.New(500*money.Scale, money.EUR), time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(errs.CodeOf(err))
	var e *errs.Error
	if !errors.As(err, &e) {
		return
	}
	for _, f := range e.Fields {
		fmt.Println(f.Field, f.Code)
	}
	// Output:
	// invalid_fields
	// goal.primary invalid_metric
	// brief.landing_url invalid_url
	// prices no_price
	// prices.share negative_amount
	// eligibility.platforms required
}

// Prices are decimal strings; a JSON number is refused, naming the field.
func ExampleSetup_UnmarshalJSON() {
	var s campaign.Setup
	err := json.Unmarshal([]byte(`{"prices":{"view":"0.002","like":0.05,"comment":"0.0000001"}}`), &s)
	fmt.Println(err)
	// Output:
	// 2 fields are invalid: prices.like, prices.comment (field prices.like)
}
