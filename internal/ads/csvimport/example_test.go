package csvimport_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/payper/payper/internal/ads/csvimport"
)

func ExampleParse() {
	file := "ad_id;date;currency;spend;impressions;clicks;purchases;purchase_value\r\n" +
		"111;2026-03-01;EUR;12,34;1000;30;2;99,99\r\n" +
		"111;2026-03-32;EUR;1;1;1;1;1\r\n"
	_, err := csvimport.Parse(strings.NewReader(file), 10_000)
	var bad *csvimport.Errors
	if errors.As(err, &bad) {
		for _, r := range bad.Rows {
			fmt.Println(r)
		}
	}
	// Output: line 3, column date: "2026-03-32" is not a date as YYYY-MM-DD
}
