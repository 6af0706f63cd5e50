package wise

import (
	"errors"
	"slices"
	"testing"

	"github.com/payper/payper/internal/errs"
)

func TestRecipientValidate(t *testing.T) {
	t.Parallel()
	addr := &Address{Country: "US", State: "NY", City: "New York", PostCode: "10001", FirstLine: "1 Main St"}
	usd := func(routing, account string, a *Address) Recipient {
		return Recipient{Currency: "USD", HolderName: "Ada Lovelace", RoutingNumber: routing, AccountNumber: account, Address: a}
	}
	eur := func(iban string) Recipient { return Recipient{Currency: "EUR", HolderName: "Ada Lovelace", IBAN: iban} }
	tests := []struct {
		name       string
		r          Recipient
		wantFields []string // nil: valid
	}{
		{"EUR DE", eur("DE89370400440532013000"), nil},
		{"EUR with spaces and lower case", eur("de89 3704 0044 0532 0130 00"), nil},
		{"EUR GB", eur("GB82WEST12345698765432"), nil},
		{"EUR FR with letters", eur("FR1420041010050500013M02606"), nil},
		{"EUR NL", eur("NL91ABNA0417164300"), nil},
		{"IBAN checksum", eur("DE89370400440532013001"), []string{"iban"}},
		{"IBAN check digits swapped", eur("DE98370400440532013000"), []string{"iban"}},
		{"IBAN too short", eur("DE8937040044"), []string{"iban"}},
		{"IBAN bad characters", eur("DE89-3704-0044-0532-0130-00"), []string{"iban"}},
		{"IBAN no country", eur("1289370400440532013000"), []string{"iban"}},
		{"IBAN missing", eur(""), []string{"iban"}},
		{"EUR with USD fields", Recipient{Currency: "EUR", HolderName: "A B", IBAN: "DE89370400440532013000",
			RoutingNumber: "021000021", AccountNumber: "1234", Address: addr}, []string{"routingNumber", "accountNumber", "address"}},
		{"USD", usd("021000021", "123456789", addr), nil},
		{"USD other routing", usd("011000015", "0001234", addr), nil},
		{"routing checksum", usd("021000022", "123456789", addr), []string{"routingNumber"}},
		{"routing 8 digits", usd("02100002", "123456789", addr), []string{"routingNumber"}},
		{"routing letters", usd("02100002A", "123456789", addr), []string{"routingNumber"}},
		{"account too short", usd("021000021", "123", addr), []string{"accountNumber"}},
		{"account not digits", usd("021000021", "12345x", addr), []string{"accountNumber"}},
		{"no address", usd("021000021", "123456789", nil), []string{"address"}},
		{"US address without state", usd("021000021", "123456789", &Address{Country: "US", City: "X", PostCode: "1", FirstLine: "Y"}),
			[]string{"address.state"}},
		{"empty address", usd("021000021", "123456789", &Address{}),
			[]string{"address.country", "address.city", "address.postCode", "address.firstLine"}},
		{"USD with IBAN", Recipient{Currency: "USD", HolderName: "A B", IBAN: "DE89370400440532013000",
			RoutingNumber: "021000021", AccountNumber: "1234", Address: addr}, []string{"iban"}},
		{"everything wrong", Recipient{Currency: "USD", RoutingNumber: "123456789", AccountNumber: "1"},
			[]string{"holderName", "routingNumber", "accountNumber", "address"}},
		{"GBP without account", Recipient{Currency: "GBP", HolderName: "A B"}, []string{"iban"}},
		{"GBP by sort code", Recipient{Currency: "GBP", HolderName: "A B", SortCode: "231470", AccountNumber: "28821822"}, nil},
		{"GBP bad sort code", Recipient{Currency: "GBP", HolderName: "A B", SortCode: "23147", AccountNumber: "2882182x"},
			[]string{"sortCode", "accountNumber"}},
		{"GBP sort code and IBAN", Recipient{Currency: "GBP", HolderName: "A B", SortCode: "231470", AccountNumber: "28821822",
			IBAN: "GB82WEST12345698765432"}, []string{"iban"}},
		{"GBP by IBAN", Recipient{Currency: "GBP", HolderName: "A B", IBAN: "GB82WEST12345698765432"}, nil},
		{"CHF by IBAN", Recipient{Currency: "CHF", HolderName: "A B", IBAN: "CH9300762011623852957"}, nil},
		{"SEK with a sort code", Recipient{Currency: "SEK", HolderName: "A B", IBAN: "SE4550000000058398257466", SortCode: "231470"},
			[]string{"sortCode"}},
		{"CZK", Recipient{Currency: "CZK", HolderName: "A B", IBAN: "CZ6508000000192000145399"}, []string{"currency"}},
		{"CAD", Recipient{Currency: "CAD", HolderName: "A B"}, []string{"currency"}},
	}
	for _, tt := range tests {
		err := tt.r.Validate()
		if tt.wantFields == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.Invalid {
			t.Errorf("%s: err = %v, want an Invalid *errs.Error", tt.name, err)
			continue
		}
		var got []string
		for _, f := range e.Fields {
			got = append(got, f.Field)
		}
		if !slices.Equal(got, tt.wantFields) {
			t.Errorf("%s: fields %v, want %v (%v)", tt.name, got, tt.wantFields, err)
		}
	}
}

func TestParseRecipient(t *testing.T) {
	t.Parallel()
	r, err := ParseRecipient(destUSD)
	if err != nil || r.Address == nil || r.Address.State != "NY" || r.RoutingNumber != "021000021" {
		t.Fatalf("ParseRecipient = %+v, %v", r, err)
	}
	for _, bad := range []string{``, `[]`, `{"currency":"EUR"} {}`, `{"currency":"EUR","iban":"DE89370400440532013000"}`} {
		if _, err := ParseRecipient(bad); !errs.Is(err, errs.Invalid) {
			t.Errorf("ParseRecipient(%q) = %v, want Invalid", bad, err)
		}
	}
}
