// Package commerce holds what the store connectors (shopify, woocommerce)
// share: the Discount a creator's code gives, the CodeCreator interface and the
// errors callers branch on.
//
// Connectors never touch the database: they return data, the domain decides.
package commerce

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Discount is the discount a creator's code gives a customer.
type Discount struct {
	Code            string    // as the customer types it, e.g. "ANNA15"
	Title           string    // shown to the merchant, e.g. "payper: Spring launch — anna"
	PercentBps      int64     // percentage off in basis points (1500 = 15 %); exactly one of PercentBps and AmountOff is > 0
	AmountOff       int64     // fixed amount off the order in micro-units of Currency
	Currency        string    // ISO 4217 code, needed with AmountOff
	StartsAt        time.Time // UTC
	EndsAt          time.Time // zero = no end
	UsageLimit      int       // 0 = unlimited
	OncePerCustomer bool
}

// MaxCodeLen is the longest code, in characters, that Validate accepts
// (Shopify's limit; WooCommerce stores codes as post titles).
const MaxCodeLen = 255

// Validate reports the first problem with d as a plain error naming the field,
// or nil if a store can be asked to create it.
func (d Discount) Validate() error {
	switch {
	case d.Code == "":
		return errors.New("commerce: discount Code is empty")
	case strings.TrimSpace(d.Code) != d.Code:
		return fmt.Errorf("commerce: discount Code %q has leading or trailing space", d.Code)
	case !utf8.ValidString(d.Code) || strings.IndexFunc(d.Code, unicode.IsControl) >= 0:
		return fmt.Errorf("commerce: discount Code %q holds invalid or control characters", d.Code)
	case utf8.RuneCountInString(d.Code) > MaxCodeLen:
		return fmt.Errorf("commerce: discount Code is longer than %d characters", MaxCodeLen)
	case strings.TrimSpace(d.Title) == "":
		return errors.New("commerce: discount Title is empty")
	case utf8.RuneCountInString(d.Title) > 255:
		return errors.New("commerce: discount Title is longer than 255 characters")
	case d.PercentBps < 0:
		return fmt.Errorf("commerce: discount PercentBps %d is negative", d.PercentBps)
	case d.AmountOff < 0:
		return fmt.Errorf("commerce: discount AmountOff %d is negative", d.AmountOff)
	case d.PercentBps > 0 && d.AmountOff > 0:
		return errors.New("commerce: discount sets both PercentBps and AmountOff; set exactly one")
	case d.PercentBps == 0 && d.AmountOff == 0:
		return errors.New("commerce: discount sets neither PercentBps nor AmountOff; set exactly one")
	case d.PercentBps > 10_000:
		return fmt.Errorf("commerce: discount PercentBps %d is over 10000 (100 %%)", d.PercentBps)
	case d.AmountOff > 0 && !isCurrencyCode(d.Currency):
		return fmt.Errorf("commerce: discount Currency %q is not an ISO 4217 code (needed with AmountOff)", d.Currency)
	case d.StartsAt.IsZero():
		return errors.New("commerce: discount StartsAt is zero")
	case !d.EndsAt.IsZero() && !d.EndsAt.After(d.StartsAt):
		return errors.New("commerce: discount EndsAt is not after StartsAt")
	case d.UsageLimit < 0:
		return fmt.Errorf("commerce: discount UsageLimit %d is negative", d.UsageLimit)
	}
	return nil
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range len(s) {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// Created is the store's record of a code.
type Created struct {
	// ExternalID is the store's id: for Shopify the DiscountCodeNode gid, for
	// WooCommerce the coupon id as decimal text.
	ExternalID string
}

// CodeCreator creates discount codes in one store.
type CodeCreator interface {
	// CreateCode creates d in the store. Errors wrap ErrCodeTaken,
	// ErrUnauthorized or ErrThrottled where those apply.
	CreateCode(ctx context.Context, d Discount) (Created, error)
}

var (
	// ErrCodeTaken means the store already has this code; the caller picks
	// another code and retries.
	ErrCodeTaken = errors.New("commerce: discount code already exists in the store")
	// ErrUnauthorized means the store refused the credentials or they lack a
	// needed permission (scope).
	ErrUnauthorized = errors.New("commerce: store refused the credentials")
	// ErrThrottled means the store was still rate limiting after the client's
	// retries.
	ErrThrottled = errors.New("commerce: store is rate limiting requests")
)
