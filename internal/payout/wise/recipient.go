package wise

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
)

// Recipient is what payout.Transfer.Destination holds for Wise, as JSON: an
// account by IBAN (EUR, GBP, CHF, DKK, NOK, PLN, SEK), a GBP account by sort
// code and account number, or a USD account by ABA routing number, account
// number and the holder's address, e.g.
//
//	{"currency":"EUR","holderName":"Ada Lovelace","iban":"DE89370400440532013000"}
//	{"currency":"GBP","holderName":"Ada Lovelace","sortCode":"231470","accountNumber":"28821822"}
//	{"currency":"USD","holderName":"Ada Lovelace","routingNumber":"021000021",
//	 "accountNumber":"123456789","address":{"country":"US","state":"NY",
//	 "city":"New York","postCode":"10001","firstLine":"1 Main St"}}
//
// Which currencies take an IBAN and that GBP takes a sort code: Wise's
// "Create a recipient account" reference,
// https://docs.wise.com/api-reference/legacy/recipient/recipientcreate
// ("GBP requires sort code and account number. BGN, CHF, DKK, EUR, GEL, GBP,
// NOK, PKR, PLN, RON, SEK require IBAN."). CZK, CAD and AUD need local
// details this client does not send: those payouts go through Stripe or
// manually.
type Recipient struct {
	Currency      string   `json:"currency"`
	HolderName    string   `json:"holderName"`
	IBAN          string   `json:"iban,omitempty"`
	SortCode      string   `json:"sortCode,omitempty"`
	RoutingNumber string   `json:"routingNumber,omitempty"`
	AccountNumber string   `json:"accountNumber,omitempty"`
	Address       *Address `json:"address,omitempty"`
}

// Address is a USD recipient's postal address. Country is an ISO 3166-1
// alpha-2 code; State is required for "US".
type Address struct {
	Country   string `json:"country"`
	State     string `json:"state,omitempty"`
	City      string `json:"city"`
	PostCode  string `json:"postCode"`
	FirstLine string `json:"firstLine"`
}

// ParseRecipient reads the JSON of a Recipient (unknown fields refused) and
// validates it. It returns an *errs.Error of kind Invalid naming every bad
// field on failure.
func ParseRecipient(destination string) (Recipient, error) {
	var r Recipient
	dec := json.NewDecoder(strings.NewReader(destination))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		e := errs.Invalidf("", "invalid_destination", "the Wise recipient is not valid JSON")
		e.Err = err
		return Recipient{}, e
	}
	if dec.More() {
		return Recipient{}, errs.Invalidf("", "invalid_destination", "the Wise recipient has trailing data")
	}
	if err := r.Validate(); err != nil {
		return Recipient{}, err
	}
	return r, nil
}

// ibanCurrencies are the currencies Wise pays to an account given by IBAN
// (see Recipient).
var ibanCurrencies = map[string]bool{"EUR": true, "GBP": true, "CHF": true, "DKK": true, "NOK": true, "PLN": true, "SEK": true}

// Currencies Wise pays out in here: the IBAN ones and USD.
func supportsCurrency(c string) bool { return ibanCurrencies[c] || c == "USD" }

// sortCodeAccount reports whether r is a GBP account by sort code.
func (r Recipient) sortCodeAccount() bool { return r.Currency == "GBP" && r.SortCode != "" }

// Validate checks r: an IBAN whose mod-97 checksum holds (EUR, GBP, CHF,
// DKK, NOK, PLN, SEK), or for GBP a 6-digit sort code and an 8-digit account
// number, or for USD a 9-digit ABA routing number whose checksum holds, a
// 4–17 digit account number and an address; a holder name always. Fields of
// the other kinds of account must be empty. It returns nil, or an
// *errs.Error of kind Invalid listing every bad field (Fields).
func (r Recipient) Validate() error {
	var c errs.Collector
	if strings.TrimSpace(r.HolderName) == "" {
		c.Addf("holderName", "required", "the account holder's name is required")
	}
	switch {
	case r.sortCodeAccount():
		if len(r.SortCode) != 6 || !allDigits(r.SortCode) {
			c.Addf("sortCode", "invalid_sort_code", "the sort code must be 6 digits")
		}
		if len(r.AccountNumber) != 8 || !allDigits(r.AccountNumber) {
			c.Addf("accountNumber", "invalid_account_number", "a UK account number must be 8 digits")
		}
		if r.IBAN != "" {
			c.Addf("iban", "unexpected", "give an IBAN or a sort code and account number, not both")
		}
		if r.RoutingNumber != "" {
			c.Addf("routingNumber", "unexpected", "a routing number is not used for GBP")
		}
		if r.Address != nil {
			c.Addf("address", "unexpected", "an address is not used for GBP")
		}
	case ibanCurrencies[r.Currency]:
		if err := checkIBAN(r.IBAN); err != nil {
			c.Addf("iban", "invalid_iban", "%v", err)
		}
		if r.RoutingNumber != "" {
			c.Addf("routingNumber", "unexpected", "a routing number is not used for %s", r.Currency)
		}
		if r.AccountNumber != "" {
			c.Addf("accountNumber", "unexpected", "an account number is not used for %s (give the IBAN)", r.Currency)
		}
		if r.SortCode != "" {
			c.Addf("sortCode", "unexpected", "a sort code is used only for GBP")
		}
		if r.Address != nil {
			c.Addf("address", "unexpected", "an address is not used for %s", r.Currency)
		}
	case r.Currency == "USD":
		if r.IBAN != "" {
			c.Addf("iban", "unexpected", "an IBAN is not used for USD")
		}
		if r.SortCode != "" {
			c.Addf("sortCode", "unexpected", "a sort code is used only for GBP")
		}
		if err := checkABA(r.RoutingNumber); err != nil {
			c.Addf("routingNumber", "invalid_routing_number", "%v", err)
		}
		if n := len(r.AccountNumber); n < 4 || n > 17 || !allDigits(r.AccountNumber) {
			c.Addf("accountNumber", "invalid_account_number", "the account number must be 4 to 17 digits")
		}
		r.Address.validate(&c)
	default:
		c.Addf("currency", "unsupported_currency", "currency %q is not supported by Wise payouts here (EUR, GBP, CHF, DKK, NOK, PLN, SEK or USD)", r.Currency)
	}
	return c.Err()
}

func (a *Address) validate(c *errs.Collector) {
	if a == nil {
		c.Addf("address", "required", "a USD recipient needs an address")
		return
	}
	if len(a.Country) != 2 || strings.ToUpper(a.Country) != a.Country || !allLetters(a.Country) {
		c.Addf("address.country", "invalid_country", "the country must be a two-letter ISO code such as \"US\"")
	}
	if a.Country == "US" && strings.TrimSpace(a.State) == "" {
		c.Addf("address.state", "required", "the state is required for a US address")
	}
	for _, f := range []struct{ name, v string }{
		{"address.city", a.City}, {"address.postCode", a.PostCode}, {"address.firstLine", a.FirstLine},
	} {
		if strings.TrimSpace(f.v) == "" {
			c.Addf(f.name, "required", "%s is required", f.name)
		}
	}
}

// normalizeIBAN drops spaces and upper-cases s, the form Wise is sent.
func normalizeIBAN(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, " ", ""))
}

// checkIBAN checks the shape and the ISO 13616 mod-97 checksum of s (spaces
// and case ignored). It does not check country-specific lengths.
func checkIBAN(s string) error {
	iban := normalizeIBAN(s)
	switch {
	case iban == "":
		return fmt.Errorf("the IBAN is required")
	case len(iban) < 15 || len(iban) > 34:
		return fmt.Errorf("the IBAN must have 15 to 34 characters, not %d", len(iban))
	case !allLetters(iban[:2]) || !allDigits(iban[2:4]):
		return fmt.Errorf("the IBAN must start with a country code and two check digits")
	}
	// Move the first four characters to the end, letters become 10..35, and
	// the whole number mod 97 must be 1.
	rearranged := iban[4:] + iban[:4]
	rem := 0
	for i := 0; i < len(rearranged); i++ {
		ch := rearranged[i]
		switch {
		case '0' <= ch && ch <= '9':
			rem = (rem*10 + int(ch-'0')) % 97
		case 'A' <= ch && ch <= 'Z':
			rem = (rem*100 + int(ch-'A') + 10) % 97
		default:
			return fmt.Errorf("the IBAN may hold only letters and digits")
		}
	}
	if rem != 1 {
		return fmt.Errorf("the IBAN's check digits do not match (mistyped?)")
	}
	return nil
}

// checkABA checks that s is a 9-digit ABA routing number whose checksum
// 3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) is a multiple of 10.
func checkABA(s string) error {
	if len(s) != 9 || !allDigits(s) {
		return fmt.Errorf("the routing number must be 9 digits")
	}
	weights := [3]int{3, 7, 1}
	sum := 0
	for i := 0; i < 9; i++ {
		sum += weights[i%3] * int(s[i]-'0')
	}
	if sum%10 != 0 {
		return fmt.Errorf("the routing number's checksum does not match (mistyped?)")
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func allLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < 'A' || s[i] > 'Z') && (s[i] < 'a' || s[i] > 'z') {
			return false
		}
	}
	return s != ""
}

// recipientBody is the POST /v1/accounts body for r, which must be valid.
func recipientBody(r Recipient, profileID int64) accountRequest {
	body := accountRequest{
		Currency:          r.Currency,
		Profile:           profileID,
		AccountHolderName: strings.TrimSpace(r.HolderName),
		Details:           accountDetails{LegalType: "PRIVATE"},
	}
	switch {
	case r.sortCodeAccount():
		body.Type = "sort_code"
		body.Details.SortCode = r.SortCode
		body.Details.AccountNumber = r.AccountNumber
		return body
	case ibanCurrencies[r.Currency]:
		body.Type = "iban"
		body.Details.IBAN = normalizeIBAN(r.IBAN)
		return body
	}
	body.Type = "aba"
	body.Details.ABARTN = r.RoutingNumber
	body.Details.AccountNumber = r.AccountNumber
	body.Details.AccountType = "CHECKING"
	a := *r.Address
	body.Details.Address = &a
	return body
}

// accountRequest is Wise's create-recipient body (shared with the Fake).
type accountRequest struct {
	Currency          string         `json:"currency"`
	Type              string         `json:"type"`
	Profile           int64          `json:"profile"`
	AccountHolderName string         `json:"accountHolderName"`
	Details           accountDetails `json:"details"`
}

type accountDetails struct {
	LegalType     string   `json:"legalType"`
	IBAN          string   `json:"IBAN,omitempty"`
	ABARTN        string   `json:"abartn,omitempty"`
	SortCode      string   `json:"sortCode,omitempty"`
	AccountNumber string   `json:"accountNumber,omitempty"`
	AccountType   string   `json:"accountType,omitempty"`
	Address       *Address `json:"address,omitempty"`
}

// compactJSON is a helper for error messages quoting a short body.
func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		buf.Reset()
		buf.Write(b)
	}
	s := buf.String()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// SupportsCurrency implements payout.CurrencySupporter: Wise pays out here
// in the currencies a Recipient can be given in (see Recipient).
func (p *Provider) SupportsCurrency(c money.Currency) bool { return supportsCurrency(string(c)) }

// ValidateDestination implements payout.DestinationValidator: the
// destination must be a valid Recipient's JSON (see ParseRecipient).
func (p *Provider) ValidateDestination(destination string) error {
	_, err := ParseRecipient(destination)
	return err
}
