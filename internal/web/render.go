package web

import (
	"bytes"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
)

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Page is what every page's data embeds: the signed-in user, the active
// nav item, a flash message and the campaign sub-nav. render fills User and
// Flash; the handler sets the rest.
type Page struct {
	// Title is the page's title (the <title> and its <h1> by convention).
	Title string
	// User is the signed-in user, nil when signed out.
	User *account.User
	// Nav names the active top-level nav item: "campaigns", "settings", "home".
	Nav string
	// Flash is a one-time message from the previous request (after a redirect).
	Flash string
	// SettingsTab names the active settings tab (Settings* constants);
	// "" leaves the settings nav out.
	SettingsTab string
	// Campaign fills the campaign_nav partial; nil leaves it out.
	Campaign *CampaignNav
	// Errors maps a form field to what is wrong with it (fieldErrors), and
	// FormError is an error not tied to one field.
	Errors    map[string]string
	FormError string
}

// CampaignNav is the campaign sub-nav's data: which campaign and which tab
// is active (one of the Tab* constants).
type CampaignNav struct {
	ID, Name, Tab string
}

// Tabs of the campaign sub-nav.
const (
	TabDashboard    = "dashboard"
	TabSetup        = "setup"
	TabApplications = "applications"
	TabPosts        = "posts"
	TabCodes        = "codes"
	TabConversions  = "conversions"
	TabEarnings     = "earnings"
	TabReports      = "reports"
	TabAds          = "ads"
	TabOptimize     = "optimize"
)

func (p *Page) base() *Page { return p }

// pageData is any page's data: a pointer to a struct embedding Page.
type pageData interface{ base() *Page }

type pageTemplate struct{ t *template.Template }

// partialsDir holds templates parsed into every page (shared {{define}}s);
// their names must be unique across page groups (prefix them with the group).
const partialsDir = "templates/partials"

// mustParsePages parses each templates/*.html page (but layout.html) as
// layout.html + every partial + the page, so pages' block names ("title",
// "main") never collide.
func mustParsePages() map[string]*pageTemplate {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	partials, _ := fs.Glob(templateFS, partialsDir+"/*.html")
	pages := make(map[string]*pageTemplate)
	for _, f := range files {
		name := path.Base(f)
		if name == "layout.html" {
			continue
		}
		t := template.New("layout.html").Funcs(funcs)
		t = template.Must(t.ParseFS(templateFS, append([]string{"templates/layout.html"}, partials...)...))
		t = template.Must(t.ParseFS(templateFS, f))
		pages[name] = &pageTemplate{t: t}
	}
	return pages
}

// render writes page file (e.g. "auth_signin.html") with data and status.
// data should be a pointer to a struct embedding Page (or a *Page): its
// User and Flash are filled from r. A template error is logged and answered
// with a plain 500 (the page is rendered to a buffer first, so no half page
// goes out).
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, file string, data any) {
	if data == nil {
		data = &Page{}
	}
	if pd, ok := data.(pageData); ok {
		p := pd.base()
		if p.User == nil {
			if u, ok := userFrom(r); ok {
				p.User = &u
			}
		}
		if p.Flash == "" {
			p.Flash = takeFlash(w, r, s.TrustProxy)
		}
	}
	pt, ok := s.pages[file]
	if !ok {
		s.Log.Error("web: no such page template", "file", file)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := pt.t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		s.Log.Error("web: render", "file", file, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// ErrorPage is error.html's data.
type ErrorPage struct {
	Page
	Status  int
	Message string
}

// errorPage renders error.html with status and a message for people.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	title := http.StatusText(status)
	switch status {
	case http.StatusNotFound:
		title = "Page not found"
	case http.StatusForbidden:
		title = "Not allowed"
	case http.StatusTooManyRequests:
		title = "Too many attempts"
	case http.StatusInternalServerError:
		title = "Something went wrong"
	}
	s.render(w, r, status, "error.html", &ErrorPage{Page: Page{Title: title}, Status: status, Message: msg})
}

// fieldErrors maps the domain's field errors in err to field → message, for
// showing each beside its input. It returns nil when err is not an Invalid
// errs.Error; an Invalid error naming no field is keyed "".
func fieldErrors(err error) map[string]string {
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.Invalid {
		return nil
	}
	out := make(map[string]string)
	for _, f := range e.Fields {
		if _, dup := out[f.Field]; !dup {
			out[f.Field] = f.Message
		}
	}
	if len(e.Fields) == 0 {
		out[e.Field] = e.Message
	}
	return out
}

// ---- flash messages ----

const flashCookie = "payper_flash"

func setFlash(w http.ResponseWriter, r *http.Request, trustProxy bool, msg string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(msg)), Path: "/",
		MaxAge: 60, HttpOnly: true, Secure: account.IsHTTPS(r, trustProxy), SameSite: http.SameSiteLaxMode})
}

func takeFlash(w http.ResponseWriter, r *http.Request, trustProxy bool) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: account.IsHTTPS(r, trustProxy), SameSite: http.SameSiteLaxMode})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(b) > 500 {
		return ""
	}
	return string(b)
}

// ---- static files ----

func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "VERSIONS" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		fsrv.ServeHTTP(w, r)
	})
}

// ---- template functions ----

var funcs = template.FuncMap{
	"money":    formatMoney,
	"num":      formatNum,
	"date":     formatDate,
	"datetime": formatDateTime,
	"pct":      formatPct,
	"fieldErr": func(m map[string]string, field string) string { return m[field] },
	"tabs":     func() []campaignTab { return campaignTabs },
	"field":    newFormField,
}

// FormField is one labelled input for the "field" partial (layout.html):
// {{template "field" (field "email" "Email" "email" .Email .Errors "username" "optional hint")}}.
type FormField struct {
	Name, Label, Type, Value, Autocomplete, Hint, Error string
}

// newFormField builds a FormField; extra is the autocomplete token and an
// optional hint. The field's error is errors[name].
func newFormField(name, label, typ, value string, errors map[string]string, extra ...string) FormField {
	f := FormField{Name: name, Label: label, Type: typ, Value: value, Error: errors[name]}
	if len(extra) > 0 {
		f.Autocomplete = extra[0]
	}
	if len(extra) > 1 {
		f.Hint = extra[1]
	}
	return f
}

// formatMoney shows an amount from money's own decimal string, with
// thousands separators and at least two decimals: 1234.5 EUR is
// "1,234.50 EUR", 0.001234 EUR "0.001234 EUR". No floats.
func formatMoney(a money.Amount) string {
	s := money.FormatMicros(a.Micros) // "-1234.500000"
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	out := groupDigits(whole) + "." + frac
	if neg {
		out = "−" + out
	}
	if a.Currency != "" {
		out += " " + string(a.Currency)
	}
	return out
}

// groupDigits puts a comma between each group of three digits.
func groupDigits(d string) string {
	if len(d) <= 3 {
		return d
	}
	var b strings.Builder
	lead := len(d) % 3
	if lead > 0 {
		b.WriteString(d[:lead])
	}
	for i := lead; i < len(d); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d[i : i+3])
	}
	return b.String()
}

// formatNum shows a count with thousands separators: 1234567 is "1,234,567".
func formatNum(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case uint32:
		n = int64(x)
	case uint64:
		return groupDigits(strconv.FormatUint(x, 10))
	default:
		return fmt.Sprint(v)
	}
	if n < 0 {
		return "−" + groupDigits(strconv.FormatUint(uint64(-n), 10))
	}
	return groupDigits(strconv.FormatInt(n, 10))
}

func asTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), !x.IsZero()
	case clock.Micros:
		return x.Time(), x != 0
	case *time.Time:
		if x == nil {
			return time.Time{}, false
		}
		return x.UTC(), !x.IsZero()
	case string: // a day as the domain writes it, "2026-12-07"
		t, err := time.Parse("2006-01-02", x)
		return t, err == nil
	}
	return time.Time{}, false
}

// formatDate shows a day, "7 Dec 2026" (UTC); "—" for a zero time.
func formatDate(v any) string {
	t, ok := asTime(v)
	if !ok {
		return "—"
	}
	return t.Format("2 Jan 2006")
}

// formatDateTime shows an instant to the minute, "7 Dec 2026 14:05 UTC".
func formatDateTime(v any) string {
	t, ok := asTime(v)
	if !ok {
		return "—"
	}
	return t.Format("2 Jan 2006 15:04 MST")
}

// formatPct shows a ratio the domain gives as a percentage with two
// decimals, truncated: a decimal string ("0.012345" → "1.23%"; the
// domain's "undefined" or "" → "—") or parts per million as an integer
// (12345 → "1.23%"). No floats: the decimal point is moved in the text.
func formatPct(v any) string {
	switch x := v.(type) {
	case int64:
		return ppmPct(x)
	case int:
		return ppmPct(int64(x))
	case string:
		return decimalPct(x)
	}
	return fmt.Sprint(v)
}

func ppmPct(ppm int64) string {
	neg := ppm < 0
	if neg {
		ppm = -ppm
	}
	hundredths := ppm / 100 // 1 ppm = 0.0001 %
	s := strconv.FormatInt(hundredths/100, 10) + "." + fmt.Sprintf("%02d", hundredths%100) + "%"
	if neg {
		s = "−" + s
	}
	return s
}

func decimalPct(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == "undefined" {
		return "—"
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return s
		}
	}
	frac += "0000"
	digits := strings.TrimLeft(whole+frac[:2], "0")
	if digits == "" {
		digits = "0"
	}
	out := groupDigits(digits) + "." + frac[2:4] + "%"
	if neg {
		out = "−" + out
	}
	return out
}

type campaignTab struct{ Key, Label, Path string }

// campaignTabs are the campaign sub-nav's tabs; Path follows
// /campaigns/{id} ("" is the dashboard).
var campaignTabs = []campaignTab{
	{TabDashboard, "Dashboard", ""},
	{TabSetup, "Setup", "/setup/goal"},
	{TabApplications, "Applications", "/applications"},
	{TabPosts, "Posts", "/posts"},
	{TabCodes, "Codes & links", "/codes"},
	{TabConversions, "Conversions", "/conversions"},
	{TabEarnings, "Earnings", "/earnings"},
	{TabReports, "Reports", "/reports"},
	{TabAds, "Ads", "/ads"},
	{TabOptimize, "Optimize", "/optimize"},
}
