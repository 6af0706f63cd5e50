package links

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/id"
)

// Device classes of a click.
const (
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
	DeviceDesktop = "desktop"
	DeviceBot     = "bot"
	DeviceUnknown = "unknown"
)

// Visit is what the redirect knows about one request for a short link.
type Visit struct {
	Method    string
	UserAgent string
	IP        string // the client's address, without port
	Referer   string
	Country   string // as the configured header gave it
	// Purpose is the request's Sec-Purpose, Purpose or X-Purpose header
	// ("prefetch", "preview"): set by browsers' and ad apps' preloaders.
	Purpose string
	// Query is the request's raw query string, passed through to the destination.
	Query string
}

// VisitOf reads a Visit from a redirect request, taking the client address
// from X-Forwarded-For only when the service trusts a proxy, and the
// country from the configured header.
func (s *Service) VisitOf(r *http.Request) Visit {
	v := Visit{Method: r.Method, UserAgent: r.UserAgent(), Referer: r.Referer(), Query: r.URL.RawQuery}
	var xff []string
	if s.cfg.TrustProxy {
		xff = r.Header.Values("X-Forwarded-For")
	}
	v.IP = ClientIP(r.RemoteAddr, xff)
	if s.cfg.CountryHeader != "" {
		v.Country = r.Header.Get(s.cfg.CountryHeader)
	}
	for _, h := range []string{"Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"} {
		if p := r.Header.Get(h); p != "" {
			v.Purpose = p
			break
		}
	}
	return v
}

// ClientIP returns the client's address of a request from its peer address
// (host:port, or a bare address) and, behind a trusted proxy, its
// X-Forwarded-For header values: the last entry of the last value, which
// the proxy in front of payper added. An entry may carry a port. It returns
// the address in canonical form (IPv4-mapped IPv6 as IPv4, no zone), the
// peer's when the entry is missing or not an IP address, or "" when
// neither is one.
func ClientIP(remoteAddr string, xff []string) string {
	if len(xff) > 0 {
		last := xff[len(xff)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if ip := parseIP(strings.TrimSpace(last)); ip != "" {
			return ip
		}
	}
	return parseIP(remoteAddr)
}

// parseIP returns the canonical form of an address given alone, as
// host:port or as [host]:port, or "" when it is not one.
func parseIP(s string) string {
	if s == "" {
		return ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return ""
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone("").String()
}

// botMarks are lower-case substrings of the user agents of crawlers, link
// previewers, HTTP libraries and ad preloaders.
var botMarks = []string{
	"bot", "crawl", "spider", "slurp", "preview", "fetcher",
	"facebookexternalhit", "facebookcatalog", "meta-externalagent", "meta-externalads",
	"whatsapp", "telegrambot", "slackbot", "slack-imgproxy", "discordbot", "linkedinbot",
	"twitterbot", "skypeuripreview", "embedly", "pinterest", "redditbot", "applebot",
	"bytespider", "tiktokspider", "bytedance-ad", "headlesschrome", "phantomjs", "lighthouse",
	"curl/", "wget/", "python-requests", "python-urllib", "aiohttp", "go-http-client",
	"java/", "okhttp/", "axios/", "node-fetch", "libwww-perl", "httpclient", "scrapy",
}

// IsBot reports whether a visit is not a person following the link: a HEAD
// request, an empty user agent, a known bot, crawler, link previewer or HTTP
// library, or a prefetch (Sec-Purpose/Purpose/X-Purpose: prefetch or
// preview, as sent by browsers' and ad apps' preloaders — TikTok's and
// Meta's included), or what fraud.InvalidVisit names: a link-preview
// fetcher by name or an address in a data centre's range.
func IsBot(v Visit) bool {
	return v.Method == http.MethodHead || prefetch(v.Purpose) || botUA(v.UserAgent) || fraud.InvalidVisit(v.IP, v.UserAgent) != ""
}

func prefetch(purpose string) bool {
	if purpose == "" {
		return false
	}
	p := strings.ToLower(purpose)
	return strings.Contains(p, "prefetch") || strings.Contains(p, "preview") || strings.Contains(p, "prerender")
}

func botUA(ua string) bool {
	ua = strings.ToLower(strings.TrimSpace(ua))
	if ua == "" {
		return true
	}
	for _, m := range botMarks {
		if strings.Contains(ua, m) {
			return true
		}
	}
	return false
}

// DeviceOf classifies a visit: DeviceBot for bots, then tablet, mobile,
// desktop, or DeviceUnknown from its user agent.
func DeviceOf(v Visit) string {
	if IsBot(v) {
		return DeviceBot
	}
	return deviceUA(v.UserAgent)
}

func deviceUA(ua string) string {
	ua = strings.ToLower(ua)
	switch {
	case strings.Contains(ua, "ipad") || strings.Contains(ua, "tablet") || strings.Contains(ua, "kindle") ||
		strings.Contains(ua, "silk/") || (strings.Contains(ua, "android") && !strings.Contains(ua, "mobile")):
		return DeviceTablet
	case strings.Contains(ua, "mobi") || strings.Contains(ua, "iphone") || strings.Contains(ua, "ipod") ||
		strings.Contains(ua, "android") || strings.Contains(ua, "phone"):
		return DeviceMobile
	case strings.Contains(ua, "windows nt") || strings.Contains(ua, "macintosh") || strings.Contains(ua, "x11") ||
		strings.Contains(ua, "cros") || strings.Contains(ua, "linux"):
		return DeviceDesktop
	}
	return DeviceUnknown
}

// uaClass is what a user agent alone says about a visit.
type uaClass struct {
	bot    bool
	device string
}

// maxUAs bounds the user-agent cache; it starts over when full.
const maxUAs = 10_000

// classify returns IsBot(v) and DeviceOf(v), remembering what each user
// agent says (the same few thousand agents make most traffic): the agent's
// part of fraud.InvalidVisit (a preview fetcher) is cached with it, and
// only the address's part (fraud.DataCentre, a few dozen prefix tests) is
// judged on every visit.
func (s *Service) classify(v Visit) (bool, string) {
	if v.Method == http.MethodHead || prefetch(v.Purpose) {
		return true, DeviceBot
	}
	s.uaMu.RLock()
	c, ok := s.uas[v.UserAgent]
	s.uaMu.RUnlock()
	if !ok {
		c.bot = botUA(v.UserAgent)
		if !c.bot {
			_, c.bot = fraud.PreviewFetcher(v.UserAgent)
		}
		c.device = DeviceBot
		if !c.bot {
			c.device = deviceUA(v.UserAgent)
		}
		s.uaMu.Lock()
		if len(s.uas) >= maxUAs {
			clear(s.uas)
		}
		s.uas[v.UserAgent] = c
		s.uaMu.Unlock()
	}
	if !c.bot && v.IP != "" {
		if _, dc := fraud.DataCentre(v.IP); dc {
			return true, DeviceBot
		}
	}
	return c.bot, c.device
}

// ReferrerHost returns the lower-case host of a Referer header, or "" when
// it has none or the host cannot be one: longer than 253 bytes, or holding
// invalid UTF-8, a control character (NUL included), a space or a
// backslash. So a stored click's referrer host is always valid UTF-8
// without NUL, which PostgreSQL refuses.
func ReferrerHost(ref string) string {
	return strings.ToLower(cleanHost(referrerHost(ref)))
}

func cleanHost(h string) string {
	if len(h) > 253 {
		return ""
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return ""
		}
		if h[i] >= utf8.RuneSelf {
			if !utf8.ValidString(h[i:]) {
				return ""
			}
			for _, r := range h[i:] {
				if unicode.IsControl(r) || unicode.IsSpace(r) {
					return ""
				}
			}
			break
		}
	}
	return h
}

func referrerHost(ref string) string {
	_, rest, ok := strings.Cut(ref, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if strings.HasPrefix(rest, "[") {
		if i := strings.IndexByte(rest, ']'); i >= 0 {
			return rest[1:i]
		}
		return ""
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func countryOf(raw string) string {
	c := strings.ToUpper(strings.TrimSpace(raw))
	if len(c) != 2 {
		return ""
	}
	for _, r := range c {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return ""
		}
	}
	return c
}

// VisitorHash is the first 128 bits, in hex, of the SHA-256 of salt | ip |
// user agent: the same visitor hashes alike without the IP being kept.
func VisitorHash(salt, ip, ua string) string {
	h := sha256.New()
	h.Write([]byte(salt))
	h.Write([]byte{'|'})
	h.Write([]byte(ip))
	h.Write([]byte{'|'})
	h.Write([]byte(ua))
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// Destination returns where link l sends a visit: its destination with its
// own query and fragment kept as they are, then utm_source, utm_medium,
// utm_campaign, utm_content (the placement) and click_id, each unless the
// destination already has it, then the visit's own query parameters (raw
// query incoming) whose names are not already there. It returns
// l.Destination unchanged if that does not parse (Create never stores such
// a destination).
func Destination(l Link, clickID, incoming string) string {
	t := l.tmpl
	if t == nil {
		t = newTemplate(l)
	}
	return t.build(clickID, incoming)
}

// destTemplate is a link's destination parsed once: base?query<click id><incoming>#fragment.
type destTemplate struct {
	raw      string // answered as is when bad
	bad      bool
	base     string // scheme://host/path, escaped, without query or fragment
	query    string // the destination's own query and the UTMs, ending in "click_id=" when addClick
	addClick bool
	frag     string // "#…" or ""
	have     url.Values
}

func newTemplate(l Link) *destTemplate {
	t := &destTemplate{raw: l.Destination}
	u, err := url.Parse(l.Destination)
	if err != nil {
		t.bad = true
		return t
	}
	have, _ := url.ParseQuery(u.RawQuery)
	if have == nil {
		have = url.Values{}
	}
	var b strings.Builder
	b.WriteString(u.RawQuery)
	add := func(k, v string) {
		if have.Has(k) {
			return
		}
		have[k] = nil
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	add("utm_source", l.UTMSource)
	add("utm_medium", l.Medium)
	add("utm_campaign", l.UTMCampaign)
	add("utm_content", l.Placement)
	if !have.Has("click_id") {
		t.addClick = true
		add("click_id", "")
	}
	t.query, t.have = b.String(), have
	if u.Fragment != "" {
		t.frag = "#" + u.EscapedFragment()
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	t.base = u.String()
	return t
}

func (t *destTemplate) build(clickID, incoming string) string {
	if t.bad {
		return t.raw
	}
	var b strings.Builder
	b.Grow(len(t.base) + len(t.query) + len(clickID) + len(incoming) + len(t.frag) + 2)
	b.WriteString(t.base)
	empty := t.query == ""
	if !empty {
		b.WriteByte('?')
		b.WriteString(t.query)
		if t.addClick {
			b.WriteString(clickID)
		}
	}
	if incoming != "" {
		in, _ := url.ParseQuery(incoming)
		keys := make([]string, 0, len(in))
		for k := range in {
			if !t.have.Has(k) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, v := range in[k] {
				if empty {
					b.WriteByte('?')
					empty = false
				} else {
					b.WriteByte('&')
				}
				b.WriteString(url.QueryEscape(k))
				b.WriteByte('=')
				b.WriteString(url.QueryEscape(v))
			}
		}
	}
	b.WriteString(t.frag)
	return b.String()
}

// Follow resolves slug and returns where to send the visit, handing its
// click to the recorder without waiting for it to be written. It returns
// NotFound for an unknown slug.
func (s *Service) Follow(ctx context.Context, slug string, v Visit) (string, error) {
	l, err := s.Resolve(ctx, slug)
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	clickID := ClickID(l.Slug, now)
	bot, device := s.classify(v)
	s.Recorder.Record(Click{LinkID: l.ID, ClickID: clickID, At: clock.MicrosOf(now),
		Visitor: VisitorHash(s.salt, v.IP, v.UserAgent), Country: countryOf(v.Country), Device: device,
		ReferrerHost: ReferrerHost(v.Referer), Bot: bot, CampaignID: l.CampaignID, CreatorID: l.CreatorID, Placement: l.Placement})
	return Destination(l, clickID, v.Query), nil
}

// ClickID returns the id of a click on the link slug at now: the slug, then
// id.Click(now) (16 characters: the millisecond, then 40 random bits). A
// click is found again from its id through the link's (link_id, at) index,
// so clicks need no index of their own.
func ClickID(slug string, now time.Time) string { return slug + id.Click(now) }

// ClickRef is what a click id says: the link's slug and the millisecond of
// the click, as a range of clicks.at.
type ClickRef struct {
	Slug     string
	From, To clock.Micros // From ≤ at < To
}

// ParseClickID reads a click id made by ClickID; near is a time after the
// click and less than 34 years from it (the order's time), which settles
// the wrapped millisecond. ok is false for anything else.
func ParseClickID(clickID string, near time.Time) (ref ClickRef, ok bool) {
	if len(clickID) <= 16 {
		return ref, false
	}
	slug, stamp := clickID[:len(clickID)-16], clickID[len(clickID)-16:]
	ms, ok := id.ClickMillis(stamp)
	if !ok {
		return ref, false
	}
	const wrap = int64(1) << 40
	nowMS := near.UnixMilli()
	full := nowMS - nowMS%wrap + ms
	if full > nowMS {
		full -= wrap
	}
	return ClickRef{Slug: slug, From: clock.Micros(full * 1000), To: clock.Micros(full*1000 + 1000)}, true
}
