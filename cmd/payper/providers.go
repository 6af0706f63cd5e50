package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/payout/stripe"
	"github.com/payper/payper/internal/payout/wise"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/instagram"
	"github.com/payper/payper/internal/platform/tiktok"
	"github.com/payper/payper/internal/platform/youtube"
)

// external is the configuration of real platforms and payout providers;
// a platform or provider is on when its client id (or token) is set.
type external struct {
	igID, igSecret, igAuthURL, igGraphURL, igVersion                         string
	ttKey, ttSecret, ttAuthURL, ttAPIURL                                     string
	ytID, ytSecret, ytAuthURL, ytTokenURL, ytAPIURL, ytAnalyURL              string
	wiseToken, wiseProfile, wiseKey, wiseKeyFile, wiseURL, wiseSCAKeyFile    string
	stripeKey, stripeWebhook, stripeURL, stripeConnectWebhook, stripeCountry string
	payoutMinimum                                                            string
	payoutMaxAttempts                                                        int64
	payoutSettleAfter                                                        time.Duration
}

func (e *external) register(f *flags) {
	f.str(&e.igID, "instagram-client-id", "PAYPER_INSTAGRAM_CLIENT_ID", "", "Instagram app id (Instagram API with Instagram Login); empty = Instagram off")
	f.str(&e.igSecret, "instagram-client-secret", "PAYPER_INSTAGRAM_CLIENT_SECRET", "", "Instagram app secret")
	f.str(&e.igAuthURL, "instagram-auth-url", "PAYPER_INSTAGRAM_AUTH_URL", "", "Instagram OAuth base URL (default https://api.instagram.com)")
	f.str(&e.igGraphURL, "instagram-graph-url", "PAYPER_INSTAGRAM_GRAPH_URL", "", "Instagram Graph base URL (default https://graph.instagram.com)")
	f.str(&e.igVersion, "instagram-graph-version", "PAYPER_INSTAGRAM_GRAPH_VERSION", "", "Instagram Graph API version of data calls, like "+instagram.DefaultVersion+" (default "+instagram.DefaultVersion+")")
	f.str(&e.ttKey, "tiktok-client-key", "PAYPER_TIKTOK_CLIENT_KEY", "", "TikTok Login Kit client key; empty = TikTok off")
	f.str(&e.ttSecret, "tiktok-client-secret", "PAYPER_TIKTOK_CLIENT_SECRET", "", "TikTok client secret")
	f.str(&e.ttAuthURL, "tiktok-auth-url", "PAYPER_TIKTOK_AUTH_URL", "", "TikTok authorize base URL (default https://www.tiktok.com)")
	f.str(&e.ttAPIURL, "tiktok-api-url", "PAYPER_TIKTOK_API_URL", "", "TikTok API base URL (default https://open.tiktokapis.com)")
	f.str(&e.ytID, "youtube-client-id", "PAYPER_YOUTUBE_CLIENT_ID", "", "Google OAuth client id for YouTube; empty = YouTube off")
	f.str(&e.ytSecret, "youtube-client-secret", "PAYPER_YOUTUBE_CLIENT_SECRET", "", "Google OAuth client secret")
	f.str(&e.ytAuthURL, "youtube-auth-url", "PAYPER_YOUTUBE_AUTH_URL", "", "Google authorize URL (default https://accounts.google.com/o/oauth2/auth)")
	f.str(&e.ytTokenURL, "youtube-token-url", "PAYPER_YOUTUBE_TOKEN_URL", "", "Google token URL (default https://oauth2.googleapis.com/token)")
	f.str(&e.ytAPIURL, "youtube-api-url", "PAYPER_YOUTUBE_API_URL", "", "YouTube Data API base URL (default https://www.googleapis.com/youtube/v3)")
	f.str(&e.ytAnalyURL, "youtube-analytics-url", "PAYPER_YOUTUBE_ANALYTICS_URL", "", "YouTube Analytics API base URL (default https://youtubeanalytics.googleapis.com/v2)")
	f.str(&e.wiseToken, "wise-api-token", "PAYPER_WISE_API_TOKEN", "", "Wise API token for payouts; empty = Wise off")
	f.str(&e.wiseProfile, "wise-profile-id", "PAYPER_WISE_PROFILE_ID", "", "Wise business profile id")
	f.str(&e.wiseKey, "wise-webhook-public-key", "PAYPER_WISE_WEBHOOK_PUBLIC_KEY", "", "Wise's webhook signing public key (PEM)")
	f.str(&e.wiseKeyFile, "wise-webhook-public-key-file", "PAYPER_WISE_WEBHOOK_PUBLIC_KEY_FILE", "", "file holding Wise's webhook public key (PEM)")
	f.str(&e.wiseURL, "wise-api-url", "PAYPER_WISE_API_URL", "", "Wise API base URL (default https://api.wise.com)")
	f.str(&e.stripeKey, "stripe-secret-key", "PAYPER_STRIPE_SECRET_KEY", "", "Stripe secret key (sk_…) for Connect payouts; empty = Stripe off")
	f.str(&e.stripeWebhook, "stripe-webhook-secret", "PAYPER_STRIPE_WEBHOOK_SECRET", "", "Stripe webhook signing secret (whsec_…)")
	f.str(&e.stripeURL, "stripe-api-url", "PAYPER_STRIPE_API_URL", "", "Stripe API base URL (default https://api.stripe.com; stripe-mock in tests)")
	f.str(&e.stripeConnectWebhook, "stripe-connect-webhook-secret", "PAYPER_STRIPE_CONNECT_WEBHOOK_SECRET", "", "signing secret (whsec_…) of the Connect webhook endpoint (connected accounts' events: account.updated, payout.failed), when it is not the same endpoint")
	f.str(&e.stripeCountry, "stripe-platform-country", "PAYPER_STRIPE_PLATFORM_COUNTRY", "", "two-letter country of the platform's Stripe account (creators elsewhere get the recipient service agreement); empty = read from Stripe")
	f.str(&e.payoutMinimum, "payout-minimum", "PAYPER_PAYOUT_MINIMUM", "10.00", "smallest payout a creator may request")
	f.duration(&e.payoutSettleAfter, "payout-settle-after", "PAYPER_PAYOUT_SETTLE_AFTER", payout.DefaultSettleAfter, "how long a payout sent to Stripe or Wise waits for the provider's word before an operator may mark it paid or failed by hand")
	f.int64(&e.payoutMaxAttempts, "payout-max-attempts", "PAYPER_PAYOUT_MAX_ATTEMPTS", payout.DefaultMaxAttempts, "tries of a payout before it fails and its money is available again (a provider transfer of unknown fate waits for the provider instead)")
	f.str(&e.wiseSCAKeyFile, "wise-sca-private-key-file", wise.EnvSCAPrivateKeyFile, "", "file of the RSA private key (PEM) whose public key is uploaded to Wise, to sign strong customer authentication challenges; empty = payouts Wise holds for SCA wait for the operator")
}

// connectors builds the configured real platforms.
func (e *external) connectors(log *slog.Logger) ([]platform.Connector, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	var out []platform.Connector
	if e.igID != "" || e.igSecret != "" {
		c, err := instagram.New(instagram.Config{ClientID: e.igID, ClientSecret: e.igSecret, AuthBaseURL: e.igAuthURL, GraphBaseURL: e.igGraphURL,
			GraphVersion: e.igVersion, Log: log, HTTP: hc})
		if err != nil {
			return nil, fmt.Errorf("instagram: %w", err)
		}
		out = append(out, c)
	}
	if e.ttKey != "" || e.ttSecret != "" {
		c, err := tiktok.New(tiktok.Config{ClientKey: e.ttKey, ClientSecret: e.ttSecret, AuthBaseURL: e.ttAuthURL, APIBaseURL: e.ttAPIURL, HTTP: hc})
		if err != nil {
			return nil, fmt.Errorf("tiktok: %w", err)
		}
		out = append(out, c)
	}
	if e.ytID != "" || e.ytSecret != "" {
		c, err := youtube.New(youtube.Config{ClientID: e.ytID, ClientSecret: e.ytSecret, AuthURL: e.ytAuthURL, TokenURL: e.ytTokenURL,
			DataBaseURL: e.ytAPIURL, AnalyticsBaseURL: e.ytAnalyURL, HTTP: hc})
		if err != nil {
			return nil, fmt.Errorf("youtube: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// payouts builds the configured payout providers and settings.
func (e *external) payouts() ([]payout.Provider, payout.Config, error) {
	var cfg payout.Config
	min, err := money.ParseMicros(strings.TrimSpace(e.payoutMinimum))
	if err != nil || min <= 0 {
		return nil, cfg, fmt.Errorf("--payout-minimum %q: want a positive decimal such as 10.00", e.payoutMinimum)
	}
	cfg.Minimum = min
	if e.payoutMaxAttempts < 1 || e.payoutMaxAttempts > 1000 {
		return nil, cfg, fmt.Errorf("--payout-max-attempts %d: want 1 to 1000", e.payoutMaxAttempts)
	}
	cfg.MaxAttempts = int(e.payoutMaxAttempts)
	if e.payoutSettleAfter < time.Minute {
		return nil, cfg, fmt.Errorf("--payout-settle-after %s: want at least 1m", e.payoutSettleAfter)
	}
	cfg.SettleAfter = e.payoutSettleAfter
	var out []payout.Provider
	if e.wiseToken != "" {
		key := e.wiseKey
		if key == "" && e.wiseKeyFile != "" {
			b, err := os.ReadFile(e.wiseKeyFile)
			if err != nil {
				return nil, cfg, fmt.Errorf("wise webhook public key: %w", err)
			}
			key = string(b)
		}
		var profile int64
		if _, err := fmt.Sscan(e.wiseProfile, &profile); err != nil {
			return nil, cfg, fmt.Errorf("PAYPER_WISE_PROFILE_ID %q: want the numeric profile id", e.wiseProfile)
		}
		p, err := wise.New(wise.Config{APIToken: e.wiseToken, ProfileID: profile, BaseURL: e.wiseURL, WebhookPublicKeyPEM: key,
			SCAPrivateKeyFile: e.wiseSCAKeyFile})
		if err != nil {
			return nil, cfg, fmt.Errorf("wise: %w", err)
		}
		out = append(out, p)
	}
	if e.stripeKey != "" || e.stripeWebhook != "" {
		p, err := stripe.New(stripe.Config{SecretKey: e.stripeKey, WebhookSecret: e.stripeWebhook, BaseURL: e.stripeURL,
			ConnectWebhookSecret: e.stripeConnectWebhook, PlatformCountry: e.stripeCountry})
		if err != nil {
			return nil, cfg, fmt.Errorf("stripe: %w", err)
		}
		out = append(out, p)
	}
	return out, cfg, nil
}
