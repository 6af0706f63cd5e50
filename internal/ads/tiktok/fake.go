package tiktok

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/payper/payper/internal/ads"
)

// FakeRow is one ad-day the Fake reports, with the metrics as the strings
// TikTok sends. Extra holds any further metric by name.
type FakeRow struct {
	AdID                string
	Day                 time.Time
	Spend               string
	Impressions         string
	Clicks              string
	CompletePayment     string
	CompletePaymentROAS string
	Extra               map[string]string
}

// FakeCounts counts the requests a Fake has answered.
type FakeCounts struct {
	Requests  int // every request, including refused ones
	Throttled int // answered with code 40100
	Pages     int // report pages served
}

// Fake is an http.Handler answering GET /open_api/v1.3/report/integrated/get/
// like TikTok: errors as HTTP 200 with a non-zero code, numbers as strings,
// page/page_size paging with page_info. It serves its rows to any
// advertiser_id. It refuses a window longer than MaxDays days with code
// 40002. Set exported fields before serving; change state only through
// methods.
type Fake struct {
	PageSize int // maximum rows per page, default 2 so that tests page
	MaxDays  int // longest start_date..end_date window, default 30

	mu       sync.Mutex
	token    string
	expired  bool
	throttle int
	rows     []FakeRow
	counts   FakeCounts
	last     url.Values
}

// NewFake returns a Fake that accepts token. It cannot fail.
func NewFake(token string) *Fake { return &Fake{token: token} }

// AddRow adds one ad-day as given. It cannot fail.
func (f *Fake) AddRow(r FakeRow) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.Day = ads.Day(r.Day)
	f.rows = append(f.rows, r)
}

// AddResult adds r as TikTok would report it: spend as a decimal string,
// complete_payment = r.Purchases, and complete_payment_roas =
// r.PurchaseValue / r.Spend rounded half up to six decimals ("0" without
// spend). It cannot fail.
func (f *Fake) AddResult(r ads.DailyResult) {
	roas := "0"
	if r.Spend > 0 {
		n := new(big.Int).Mul(big.NewInt(r.PurchaseValue), big.NewInt(1_000_000))
		n.Add(n, big.NewInt(r.Spend/2))
		n.Quo(n, big.NewInt(r.Spend))
		roas = ads.FormatMicros(n.Int64())
	}
	f.AddRow(FakeRow{
		AdID: r.AdID, Day: r.Day,
		Spend:               ads.FormatMicros(r.Spend),
		Impressions:         strconv.FormatInt(r.Impressions, 10),
		Clicks:              strconv.FormatInt(r.Clicks, 10),
		CompletePayment:     strconv.FormatInt(r.Purchases, 10),
		CompletePaymentROAS: roas,
	})
}

// ThrottleNext makes the next n requests answer code 40100. It cannot fail.
func (f *Fake) ThrottleNext(n int) { f.mu.Lock(); f.throttle = n; f.mu.Unlock() }

// ExpireToken makes every later request answer code 40105. It cannot fail.
func (f *Fake) ExpireToken() { f.mu.Lock(); f.expired = true; f.mu.Unlock() }

// Counts returns the request counters so far. It cannot fail.
func (f *Fake) Counts() FakeCounts { f.mu.Lock(); defer f.mu.Unlock(); return f.counts }

// LastQuery returns a copy of the query of the last request. It cannot fail.
func (f *Fake) LastQuery() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := url.Values{}
	for k, v := range f.last {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func answer(w http.ResponseWriter, code int, msg string, data any) {
	w.Header().Set("Content-Type", "application/json")
	if data == nil {
		data = map[string]any{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": msg, "request_id": "202603011200000000FAKE", "data": data,
	})
}

// ServeHTTP answers one report request; failures are answered as TikTok
// does, HTTP 200 with a non-zero code (404 for an unknown path).
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts.Requests++
	if r.URL.Path != ReportPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	f.last = q
	tok := r.Header.Get("Access-Token")
	switch {
	case tok == "":
		answer(w, CodeTokenEmpty, "Access token is empty.", nil)
		return
	case tok != f.token || f.expired:
		answer(w, CodeTokenBad, "Access token is incorrect or has been revoked.", nil)
		return
	}
	if f.throttle > 0 {
		f.throttle--
		f.counts.Throttled++
		answer(w, CodeRateLimited, "Too many requests. Please retry in some time.", nil)
		return
	}
	rows, page, size, msg := f.query(q)
	if msg != "" {
		answer(w, 40002, msg, nil)
		return
	}
	f.counts.Pages++
	total := len(rows)
	totalPage := (total + size - 1) / size
	start := min((page-1)*size, total)
	end := min(start+size, total)
	list := make([]map[string]any, 0, end-start)
	for _, row := range rows[start:end] {
		list = append(list, f.rowJSON(row, q))
	}
	answer(w, CodeOK, "OK", map[string]any{
		"list": list,
		"page_info": map[string]int{
			"page": page, "page_size": size, "total_number": total, "total_page": totalPage,
		},
	})
}

// query validates the parameters; msg is the error message when they are bad.
func (f *Fake) query(q url.Values) (rows []FakeRow, page, size int, msg string) {
	if q.Get("advertiser_id") == "" {
		return nil, 0, 0, "advertiser_id: Missing data for required field."
	}
	if q.Get("report_type") != "BASIC" || q.Get("data_level") != "AUCTION_AD" {
		return nil, 0, 0, "this fake serves report_type BASIC at data_level AUCTION_AD only"
	}
	var dims []string
	if err := json.Unmarshal([]byte(q.Get("dimensions")), &dims); err != nil ||
		len(dims) != 2 || dims[0] != "ad_id" || dims[1] != "stat_time_day" {
		return nil, 0, 0, `dimensions: this fake serves ["ad_id","stat_time_day"] only`
	}
	var mets []string
	if err := json.Unmarshal([]byte(q.Get("metrics")), &mets); err != nil || len(mets) == 0 {
		return nil, 0, 0, "metrics: Not a valid list."
	}
	start, err1 := time.Parse(time.DateOnly, q.Get("start_date"))
	end, err2 := time.Parse(time.DateOnly, q.Get("end_date"))
	if err1 != nil || err2 != nil || end.Before(start) {
		return nil, 0, 0, "start_date/end_date: invalid dates"
	}
	maxDays := f.MaxDays
	if maxDays <= 0 {
		maxDays = 30
	}
	if ads.Days(start, end) > maxDays {
		return nil, 0, 0, fmt.Sprintf("The time span cannot exceed %d days when stat_time_day is a dimension.", maxDays)
	}
	page, size = 1, 10
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, 0, 0, "page: Must be greater than or equal to 1."
		}
		page = n
	}
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return nil, 0, 0, "page_size: Must be between 1 and 1000."
		}
		size = n
	}
	if f.PageSize > 0 && size > f.PageSize {
		size = f.PageSize
	} else if f.PageSize <= 0 && size > 2 {
		size = 2
	}
	for _, row := range f.rows {
		if !row.Day.Before(start) && !row.Day.After(end) {
			rows = append(rows, row)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if !rows[i].Day.Equal(rows[j].Day) {
			return rows[i].Day.Before(rows[j].Day)
		}
		return rows[i].AdID < rows[j].AdID
	})
	return rows, page, size, ""
}

func (f *Fake) rowJSON(row FakeRow, q url.Values) map[string]any {
	var mets []string
	_ = json.Unmarshal([]byte(q.Get("metrics")), &mets)
	known := map[string]string{
		"spend": row.Spend, "impressions": row.Impressions, "clicks": row.Clicks,
		"complete_payment": row.CompletePayment, "complete_payment_roas": row.CompletePaymentROAS,
	}
	metrics := map[string]string{}
	for _, m := range mets {
		v, ok := known[m]
		if !ok {
			v = row.Extra[m]
		}
		if v == "" {
			v = "0"
		}
		metrics[m] = v
	}
	return map[string]any{
		"dimensions": map[string]string{
			"ad_id":         row.AdID,
			"stat_time_day": row.Day.Format(time.DateTime),
		},
		"metrics": metrics,
	}
}
