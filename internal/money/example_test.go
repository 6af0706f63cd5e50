package money_test

import (
	"encoding/json"
	"fmt"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
)

func Example() {
	// Parse a user-supplied decimal string into exact micro-units.
	budget, err := money.Parse("12.5", money.EUR)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(budget.Micros)
	fmt.Println(money.FormatMicros(budget.Micros))
	fmt.Println(budget)

	// Amounts travel as JSON objects with the amount as a string.
	b, err := json.Marshal(budget)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))

	var fee money.Amount
	if err := json.Unmarshal([]byte(`{"amount":"0.25","currency":"EUR"}`), &fee); err != nil {
		fmt.Println(err)
		return
	}
	rest, err := budget.Sub(fee)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rest)

	// A 15% commission, rounded down to the micro-unit.
	fmt.Println(money.FormatMicros(money.FloorBps(rest.Micros, 1_500)))

	// Bad input is reported with a machine-readable code.
	_, err = money.Parse("0.0000001", money.EUR)
	fmt.Println(errs.CodeOf(err))
	err = json.Unmarshal([]byte(`{"amount":12.5,"currency":"EUR"}`), &fee)
	fmt.Println(errs.CodeOf(err), "-", err)

	// Output:
	// 12500000
	// 12.500000
	// 12.500000 EUR
	// {"amount":"12.500000","currency":"EUR"}
	// 12.250000 EUR
	// 1.837500
	// too_many_decimals
	// invalid_amount - amounts must be strings, such as "12.50", not the JSON number "12.5" (field amount)
}

func ExampleFloorBps() {
	// 33.33% of 1.000001 EUR, rounded down to the micro-unit.
	fmt.Println(money.FormatMicros(money.FloorBps(1_000_001, 3_333)))
	// Output: 0.333300
}

func ExampleAmount_Cents() {
	cents, rest := money.New(1_234_567, money.EUR).Cents()
	fmt.Println(cents, rest)
	// Output: 123 4567
}
