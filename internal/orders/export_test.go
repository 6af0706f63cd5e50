package orders

import "github.com/payper/payper/internal/clock"

// Parsed is what a payload parsed into, for the fuzz targets.
type Parsed struct {
	Order       *Order // ExternalID, Amount, DiscountCodes, ClickID, CustomerID, Status
	RefundOrder string
	Refunds     []Refund
}

// ParsePayload runs the parsers Receive runs for a delivery of topic on
// platform.
func ParsePayload(platform, topic string, body []byte) (Parsed, error) {
	d := delivery{topic: topic}
	if err := d.parse(platform, body, clock.Micros(1_700_000_000_000_000)); err != nil {
		return Parsed{}, err
	}
	p := Parsed{RefundOrder: d.refundOrder}
	if d.order != nil {
		p.Order = &Order{ExternalID: d.order.externalID, Amount: d.order.amount, DiscountCodes: d.order.codes, ClickID: d.order.clickID,
			CustomerID: d.order.customer, Status: d.order.status, Tax: d.order.tax, Shipping: d.order.shipping}
	}
	for _, r := range d.refunds {
		p.Refunds = append(p.Refunds, Refund{ID: r.id, Amount: r.amount})
	}
	return p, nil
}

// ParseConversion runs the checks Convert runs on c before it writes.
func ParseConversion(c Conversion) (Order, error) {
	a, err := c.parse()
	return Order{ExternalID: c.OrderID, Amount: a}, err
}
