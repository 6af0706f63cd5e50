package youtube

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/payper/payper/internal/platform"
)

// The Data and Analytics API answers, as far as the connector reads them.
// Counts are JSON strings; platform.Count reads them and stays Unknown when
// the field is absent.

type channel struct {
	ID      string `json:"id"`
	Snippet struct {
		Title     string `json:"title"`
		CustomURL string `json:"customUrl"`
	} `json:"snippet"`
	Statistics struct {
		SubscriberCount       platform.Count `json:"subscriberCount"`
		HiddenSubscriberCount bool           `json:"hiddenSubscriberCount"`
		VideoCount            platform.Count `json:"videoCount"`
	} `json:"statistics"`
	ContentDetails struct {
		RelatedPlaylists struct {
			Uploads string `json:"uploads"`
		} `json:"relatedPlaylists"`
	} `json:"contentDetails"`
}

type channelList struct {
	Items []channel `json:"items"`
}

type video struct {
	ID      string `json:"id"`
	Snippet struct {
		PublishedAt time.Time `json:"publishedAt"`
		ChannelID   string    `json:"channelId"`
		Title       string    `json:"title"`
		Description string    `json:"description"`
	} `json:"snippet"`
	Statistics struct {
		ViewCount    platform.Count `json:"viewCount"`
		LikeCount    platform.Count `json:"likeCount"`
		CommentCount platform.Count `json:"commentCount"`
	} `json:"statistics"`
}

type videoList struct {
	Items []video `json:"items"`
}

type playlistItemList struct {
	NextPageToken string `json:"nextPageToken"`
	Items         []struct {
		ContentDetails struct {
			VideoID string `json:"videoId"`
		} `json:"contentDetails"`
	} `json:"items"`
}

// report is an Analytics result table.
type report struct {
	ColumnHeaders []struct {
		Name string `json:"name"`
	} `json:"columnHeaders"`
	Rows [][]json.RawMessage `json:"rows"`
}

// googleError is Google's JSON error body.
type googleError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Errors  []struct {
			Domain  string `json:"domain"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"errors"`
		Details []struct {
			Reason string `json:"reason"`
		} `json:"details"`
	} `json:"error"`
}

func (g *googleError) hasReason(rs ...string) bool {
	for _, e := range g.Error.Errors {
		for _, r := range rs {
			if e.Reason == r {
				return true
			}
		}
	}
	for _, d := range g.Error.Details {
		for _, r := range rs {
			if d.Reason == r {
				return true
			}
		}
	}
	return false
}

// apiError maps a non-200 answer of the Data or Analytics API to the
// platform's error kinds. notFound is the Kind a 404 maps to.
func (c *Client) apiError(status int, hdr http.Header, body []byte, notFound error) error {
	var g googleError
	_ = json.Unmarshal(body, &g)
	code := g.Error.Status
	if len(g.Error.Errors) > 0 && g.Error.Errors[0].Reason != "" {
		code = g.Error.Errors[0].Reason
	}
	msg := cmpOr(g.Error.Message, http.StatusText(status))
	e := &platform.Error{Platform: platform.YouTube, Status: status, Code: code, Message: msg}
	switch {
	case g.hasReason("quotaExceeded", "dailyLimitExceeded"):
		// The daily quota comes back at midnight Pacific time.
		return &platform.RateLimitError{Platform: platform.YouTube, Reason: code,
			RetryAfter: untilPacificMidnight(c.now()), Err: e}
	case status == http.StatusTooManyRequests || g.hasReason("rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"):
		return &platform.RateLimitError{Platform: platform.YouTube, Reason: cmpOr(code, "too_many_requests"),
			RetryAfter: platform.ParseRetryAfter(hdr.Get("Retry-After"), c.now()), Err: e}
	case status == http.StatusUnauthorized:
		e.Kind = platform.ErrReconnect
	case status == http.StatusForbidden && (g.hasReason("insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT") ||
		strings.Contains(hdr.Get("WWW-Authenticate"), "insufficient_scope")):
		e.Kind = platform.ErrReconnect // the token lacks a scope: consent again
	case status == http.StatusNotFound:
		e.Kind = notFound
	case status >= 500:
		e.Kind = platform.ErrUnavailable
	}
	return e
}
