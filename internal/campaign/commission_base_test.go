package campaign_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
)

// TestCommissionBaseSetting (issue 14, item 11): performance.commission_base
// reads and writes as "net" or "total" ("" meaning net), is normalized to
// lower case, and anything else is refused naming the field.
func TestCommissionBaseSetting(t *testing.T) {
	var s campaign.Setup
	if err := json.Unmarshal([]byte(`{"performance":{"commission_bps":1000,"commission_base":" Total "}}`), &s); err != nil {
		t.Fatal(err)
	}
	s.Normalize()
	if s.Performance.CommissionBase != campaign.CommissionBaseTotal {
		t.Fatalf("commission_base = %q", s.Performance.CommissionBase)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back campaign.Setup
	if err := json.Unmarshal(b, &back); err != nil || back.Performance != s.Performance {
		t.Fatalf("round trip %s: %+v, %v", b, back.Performance, err)
	}
	for _, base := range []string{"", "net", "total", "gross"} {
		s := campaign.Setup{Performance: campaign.Performance{CommissionBps: 1000, CommissionBase: base}}
		s.Normalize()
		err := s.Validate(money.New(1000*money.Scale, money.EUR), time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
		var e *errs.Error
		bad := errors.As(err, &e) && hasField(e, "performance.commission_base")
		if bad != (base == "gross") {
			t.Errorf("commission_base %q: %v", base, err)
		}
	}
}

func hasField(e *errs.Error, field string) bool {
	if e.Field == field {
		return true
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}
