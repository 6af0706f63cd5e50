package meta

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payper/payper/internal/ads"
)

// FakeRow is one ad-day the Fake reports, with Meta's string fields as they
// are sent on the wire. Empty fields are left out of the answer.
type FakeRow struct {
	AdID             string
	Day              time.Time
	Currency         string // default: the Fake's Currency
	Spend            string
	Impressions      string
	Clicks           string
	InlineLinkClicks string
	Actions          map[string]string // action_type → value
	ActionValues     map[string]string
}

// PurchaseTwins are the action types under which the Fake reports the same
// purchases, as Meta does.
var PurchaseTwins = []string{"purchase", "omni_purchase", "offsite_conversion.fb_pixel_purchase", "onsite_web_purchase"}

// FakeCounts counts the requests a Fake has answered.
type FakeCounts struct {
	Requests    int // every request, including refused ones
	Throttled   int // answered with a throttling error
	SyncPages   int // pages of synchronous insights
	AsyncRuns   int // report runs started
	Polls       int // report run status reads
	ReportPages int // pages of report run results
}

// Fake is an http.Handler answering like the Graph API insights edges for
// one ad account: GET /{version}/{act_ID|ad_id}/insights, POST of the same
// with async=true, GET /{version}/{report_run_id} and
// GET /{version}/{report_run_id}/insights, with cursor paging. Set its
// exported fields before serving; change its state only through methods.
type Fake struct {
	Version         string // default DefaultVersion
	Currency        string // default "EUR"
	PageSize        int    // maximum rows per page, default 2 so that tests page
	PollsBeforeDone int    // "Job Running" answers before "Job Completed", default 2

	mu       sync.Mutex
	token    string
	expired  bool
	throttle int
	timeouts int
	// timeoutCode and timeoutSubcode are the error the timeouts answer.
	timeoutCode, timeoutSubcode int
	failJobs                    int
	rows                        []FakeRow
	jobs                        map[string]*fakeJob
	nextJob                     int
	counts                      FakeCounts
	lastRequest                 url.Values
}

type fakeJob struct {
	rows   []FakeRow
	polls  int
	failed bool
}

// NewFake returns a Fake that accepts token. It cannot fail.
func NewFake(token string) *Fake {
	return &Fake{token: token, jobs: map[string]*fakeJob{}}
}

// AddRow adds one ad-day as given. It cannot fail.
func (f *Fake) AddRow(r FakeRow) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.Day = ads.Day(r.Day)
	f.rows = append(f.rows, r)
}

// AddResult adds r as Meta would report it: spend and purchase value as
// decimal strings, inline_link_clicks = r.Clicks, clicks (all clicks) =
// 2 × r.Clicks, and the purchases under every one of PurchaseTwins with the
// same count and value. It cannot fail.
func (f *Fake) AddResult(r ads.DailyResult) {
	acts, vals := map[string]string{}, map[string]string{}
	for _, t := range PurchaseTwins {
		acts[t] = strconv.FormatInt(r.Purchases, 10)
		vals[t] = ads.FormatMicros(r.PurchaseValue)
	}
	acts["link_click"] = strconv.FormatInt(r.Clicks, 10)
	f.AddRow(FakeRow{
		AdID: r.AdID, Day: r.Day, Currency: r.Currency,
		Spend:            ads.FormatMicros(r.Spend),
		Impressions:      strconv.FormatInt(r.Impressions, 10),
		Clicks:           strconv.FormatInt(2*r.Clicks, 10),
		InlineLinkClicks: strconv.FormatInt(r.Clicks, 10),
		Actions:          acts, ActionValues: vals,
	})
}

// ThrottleNext makes the next n requests fail with error 4/1504022 ("too
// many requests") and usage headers asking to wait one minute. It cannot
// fail.
func (f *Fake) ThrottleNext(n int) { f.mu.Lock(); f.throttle = n; f.mu.Unlock() }

// TimeoutNext makes the next n synchronous insights requests fail with
// error 100/1504018, Meta's "use the async report" timeout. It cannot fail.
func (f *Fake) TimeoutNext(n int) { f.TimeoutNextAs(n, codeInvalidParam, subcodeTimeout) }

// TimeoutNextAs makes the next n synchronous insights requests fail with
// error code/subcode. Meta's "Ads Insights API Error Codes"
// (https://developers.facebook.com/documentation/ads-commerce/marketing-api/insights/error-codes)
// lists two synchronous "Request Timed Out" errors, both saying to try a
// smaller range, less data, or async jobs: 100/1504018 and 2/1504038. The
// page gives no HTTP status; the Fake answers 400 for code 100 (an
// OAuthException on a parameter) and 500 for code 2 (Meta's "API Service"
// code, a temporary server-side failure). It cannot fail.
func (f *Fake) TimeoutNextAs(n, code, subcode int) {
	f.mu.Lock()
	f.timeouts, f.timeoutCode, f.timeoutSubcode = n, code, subcode
	f.mu.Unlock()
}

// FailNextJobs makes the next n report runs end as "Job Failed". It cannot
// fail.
func (f *Fake) FailNextJobs(n int) { f.mu.Lock(); f.failJobs = n; f.mu.Unlock() }

// ExpireToken makes every later request fail with error 190/463. It cannot
// fail.
func (f *Fake) ExpireToken() { f.mu.Lock(); f.expired = true; f.mu.Unlock() }

// Counts returns the request counters so far. It cannot fail.
func (f *Fake) Counts() FakeCounts { f.mu.Lock(); defer f.mu.Unlock(); return f.counts }

// LastParams returns a copy of the parameters of the last insights request
// (nil before any). It cannot fail.
func (f *Fake) LastParams() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cloneValues(f.lastRequest)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status, code, subcode int, typ, msg string) {
	e := map[string]any{"message": msg, "type": typ, "code": code, "fbtrace_id": "AFakeTrace"}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// ServeHTTP answers one Graph API request; failures are answered as Meta
// does, as a JSON "error" object with code and subcode.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts.Requests++
	if err := r.ParseForm(); err != nil {
		writeErr(w, 400, codeInvalidParam, 0, "OAuthException", "(#100) malformed request")
		return
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = r.Form.Get("access_token")
	}
	switch {
	case token != f.token:
		writeErr(w, 400, codeTokenInvalid, 0, "OAuthException", "Invalid OAuth access token - Cannot parse access token")
		return
	case f.expired:
		writeErr(w, 400, codeTokenInvalid, 463, "OAuthException", "Error validating access token: Session has expired")
		return
	}
	if f.throttle > 0 {
		f.throttle--
		f.counts.Throttled++
		w.Header().Set("X-Business-Use-Case-Usage",
			`{"1234":[{"type":"ads_insights","call_count":100,"total_cputime":35,"total_time":40,"estimated_time_to_regain_access":1}]}`)
		w.Header().Set("X-Ad-Account-Usage", `{"acc_id_util_pct":100,"reset_time_duration":30,"ads_api_access_tier":"standard_access"}`)
		w.Header().Set("X-FB-Ads-Insights-Throttle", `{"app_id_util_pct":100,"acc_id_util_pct":100,"ads_api_access_tier":"standard_access"}`)
		writeErr(w, 400, 4, 1504022, "OAuthException", "(#4) There have been too many calls from this ad-account. Please wait a bit and try again.")
		return
	}
	version := f.Version
	if version == "" {
		version = DefaultVersion
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 || parts[0] != version {
		writeErr(w, 400, 2635, 0, "OAuthException", "(#2635) unknown or unsupported API version")
		return
	}
	node := parts[1]
	switch {
	case len(parts) == 3 && parts[2] == "insights" && f.jobs[node] != nil && r.Method == http.MethodGet:
		f.reportPage(w, r, node)
	case len(parts) == 3 && parts[2] == "insights" && r.Method == http.MethodGet:
		f.lastRequest = cloneValues(r.Form)
		f.syncPage(w, r, node)
	case len(parts) == 3 && parts[2] == "insights" && r.Method == http.MethodPost && r.Form.Get("async") == "true":
		f.lastRequest = cloneValues(r.Form)
		f.startJob(w, r, node)
	case len(parts) == 2 && f.jobs[node] != nil && r.Method == http.MethodGet:
		f.poll(w, node)
	default:
		writeErr(w, 400, codeInvalidParam, 33, "GraphMethodException",
			fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist", strings.ToLower(r.Method), node))
	}
}

// selectRows validates the insights parameters and returns the rows they ask
// for, or a message for error 100.
func (f *Fake) selectRows(form url.Values, node string) ([]FakeRow, string) {
	if form.Get("level") != "ad" {
		return nil, "(#100) level must be ad for this fake"
	}
	if form.Get("time_increment") != "1" {
		return nil, "(#100) time_increment must be 1 for this fake"
	}
	var tr struct{ Since, Until string }
	if err := json.Unmarshal([]byte(form.Get("time_range")), &tr); err != nil {
		return nil, "(#100) param time_range must be a JSON object with since and until"
	}
	since, err1 := time.Parse(time.DateOnly, tr.Since)
	until, err2 := time.Parse(time.DateOnly, tr.Until)
	if err1 != nil || err2 != nil || until.Before(since) {
		return nil, "(#100) invalid time_range"
	}
	fields := map[string]bool{}
	for _, fl := range strings.Split(form.Get("fields"), ",") {
		fields[fl] = true
	}
	for _, need := range []string{"ad_id", "spend", "impressions", "actions", "action_values", "account_currency"} {
		if !fields[need] {
			return nil, "(#100) this fake expects field " + need
		}
	}
	var only map[string]bool
	if fl := form.Get("filtering"); fl != "" {
		var filters []struct {
			Field    string   `json:"field"`
			Operator string   `json:"operator"`
			Value    []string `json:"value"`
		}
		if err := json.Unmarshal([]byte(fl), &filters); err != nil {
			return nil, "(#100) param filtering must be an array of filter objects"
		}
		for _, flt := range filters {
			if flt.Field != "ad.id" || flt.Operator != "IN" {
				return nil, "(#100) this fake filters only on ad.id IN"
			}
			only = map[string]bool{}
			for _, v := range flt.Value {
				only[v] = true
			}
		}
	}
	var out []FakeRow
	for _, row := range f.rows {
		if row.Day.Before(since) || row.Day.After(until) {
			continue
		}
		if strings.HasPrefix(node, "act_") {
			if only != nil && !only[row.AdID] {
				continue
			}
		} else if row.AdID != node {
			continue
		}
		out = append(out, row)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Day.Equal(out[j].Day) {
			return out[i].Day.Before(out[j].Day)
		}
		return out[i].AdID < out[j].AdID
	})
	return out, ""
}

func (f *Fake) syncPage(w http.ResponseWriter, r *http.Request, node string) {
	if f.timeouts > 0 {
		f.timeouts--
		status := http.StatusBadRequest
		if f.timeoutCode == codeService {
			status = http.StatusInternalServerError
		}
		writeErr(w, status, f.timeoutCode, f.timeoutSubcode, "OAuthException",
			"Your request timed out. Try a smaller date range, fetch less data, or use async jobs.")
		return
	}
	rows, msg := f.selectRows(r.Form, node)
	if msg != "" {
		writeErr(w, 400, codeInvalidParam, 0, "OAuthException", msg)
		return
	}
	f.counts.SyncPages++
	f.writePage(w, r, rows)
}

func (f *Fake) startJob(w http.ResponseWriter, r *http.Request, node string) {
	rows, msg := f.selectRows(r.Form, node)
	if msg != "" {
		writeErr(w, 400, codeInvalidParam, 0, "OAuthException", msg)
		return
	}
	f.counts.AsyncRuns++
	f.nextJob++
	id := fmt.Sprintf("90000%d", f.nextJob)
	job := &fakeJob{rows: rows}
	if f.failJobs > 0 {
		f.failJobs--
		job.failed = true
	}
	f.jobs[id] = job
	writeJSON(w, 200, map[string]string{"report_run_id": id})
}

func (f *Fake) pollsBeforeDone() int {
	if f.PollsBeforeDone <= 0 {
		return 2
	}
	return f.PollsBeforeDone
}

func (f *Fake) poll(w http.ResponseWriter, id string) {
	f.counts.Polls++
	job := f.jobs[id]
	job.polls++
	status, pct := "Job Running", 50
	switch {
	case job.failed:
		status, pct = "Job Failed", 0
	case job.polls > f.pollsBeforeDone():
		status, pct = "Job Completed", 100
	}
	writeJSON(w, 200, map[string]any{
		"id": id, "account_id": "1234", "async_status": status, "async_percent_completion": pct,
	})
}

func (f *Fake) reportPage(w http.ResponseWriter, r *http.Request, id string) {
	job := f.jobs[id]
	if job.failed || job.polls <= f.pollsBeforeDone() {
		writeErr(w, 400, codeInvalidParam, 0, "OAuthException", "(#100) the report is not ready")
		return
	}
	f.counts.ReportPages++
	f.writePage(w, r, job.rows)
}

// writePage answers one page of rows, honouring limit (capped at PageSize)
// and the after cursor.
func (f *Fake) writePage(w http.ResponseWriter, r *http.Request, rows []FakeRow) {
	size := f.PageSize
	if size <= 0 {
		size = 2
	}
	if l, err := strconv.Atoi(r.Form.Get("limit")); err == nil && l > 0 && l < size {
		size = l
	}
	start := 0
	if a := r.Form.Get("after"); a != "" {
		b, err := base64.RawURLEncoding.DecodeString(a)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
		if err != nil || err2 != nil || n < 0 || n > len(rows) {
			writeErr(w, 400, codeInvalidParam, 0, "OAuthException", "(#100) invalid after cursor")
			return
		}
		start = n
	}
	end := min(start+size, len(rows))
	data := make([]map[string]any, 0, end-start)
	for _, row := range rows[start:end] {
		data = append(data, f.rowJSON(row))
	}
	cursor := func(n int) string { return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(n))) }
	paging := map[string]any{"cursors": map[string]string{"before": cursor(start), "after": cursor(end)}}
	if end < len(rows) {
		q := cloneValues(r.Form)
		q.Del("access_token")
		q.Set("after", cursor(end))
		paging["next"] = "https://graph.facebook.com" + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, 200, map[string]any{"data": data, "paging": paging})
}

func (f *Fake) rowJSON(row FakeRow) map[string]any {
	cur := row.Currency
	if cur == "" {
		cur = f.Currency
	}
	if cur == "" {
		cur = "EUR"
	}
	day := row.Day.Format(time.DateOnly)
	m := map[string]any{"ad_id": row.AdID, "date_start": day, "date_stop": day, "account_currency": cur}
	for k, v := range map[string]string{
		"spend": row.Spend, "impressions": row.Impressions,
		"clicks": row.Clicks, "inline_link_clicks": row.InlineLinkClicks,
	} {
		if v != "" {
			m[k] = v
		}
	}
	list := func(kv map[string]string) []map[string]string {
		keys := make([]string, 0, len(kv))
		for k := range kv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]map[string]string, 0, len(keys))
		for _, k := range keys {
			out = append(out, map[string]string{"action_type": k, "value": kv[k]})
		}
		return out
	}
	if len(row.Actions) > 0 {
		m["actions"] = list(row.Actions)
	}
	if len(row.ActionValues) > 0 {
		m["action_values"] = list(row.ActionValues)
	}
	return m
}
