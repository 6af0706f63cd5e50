// Package youtube is the platform.Connector for YouTube: Google OAuth 2.0
// (through golang.org/x/oauth2) for the authorization, the YouTube Data API
// v3 for the channel, its videos and their view, like and comment counts,
// and the YouTube Analytics API v2 for shares, which the Data API does not
// report.
//
// # Calls
//
//	GET {data}/channels?part=statistics,snippet,contentDetails&mine=true   1 unit   Profile, Exchange (channel id)
//	GET {data}/videos?part=snippet,statistics&id=<≤50 ids>                 1 unit   FindMedia, Counts, RecentMedia
//	GET {data}/playlistItems?part=contentDetails&playlistId=UU…&pageToken  1 unit   RecentMedia (uploads playlist)
//	GET {analytics}/reports?ids=channel==MINE&metrics=views,shares&dimensions=video&sort=-views&maxResults=200   Counts, RecentMedia (≥ 2 videos)
//	GET {analytics}/reports?ids=channel==MINE&metrics=shares&filters=video==ID                                  one video, or one outside the top 200
//
// # Why no google.golang.org/api
//
// The generated client (google.golang.org/api/youtube/v3 and
// youtubeanalytics/v2) was weighed and not taken. It pulls in a large module
// (hundreds of generated API packages, gRPC, OpenCensus/OpenTelemetry,
// cloud.google.com/go/compute/metadata, …) for the four GET requests above.
// It would not save the work that matters either: the Data API sends counts
// as JSON strings and the generated structs decode them into uint64 fields
// tagged omitempty, so a hidden likeCount and a like count of 0 both come out
// as 0 — payper must never bill an unknown count as zero, so the statistics
// have to be decoded by hand anyway (platform.Count reads the strings, and an
// absent field stays Unknown). The error body, the quota accounting and the
// Analytics result table (column headers + rows) are equally small to read
// here. The whole client is a few hundred lines over net/http and x/oauth2,
// which go.mod already holds.
//
// # Facts relied on
//
//   - Google issues a refresh token only on the first consent (hence
//     access_type=offline and prompt=consent on every AuthorizeURL); a refresh
//     answer carries none, and the old refresh token stays valid: Refresh keeps
//     it. A revoked or expired grant answers invalid_grant → ErrReconnect.
//   - The token response does not name the channel: Exchange spends one
//     channels.list unit to learn Token.AccountID (a Google account without a
//     channel fails with ErrReconnect, code "no_channel").
//   - subscriberCount is rounded down to three significant figures
//     (Profile.FollowersRounded), and is Unknown when hiddenSubscriberCount is
//     true. A missing likeCount (likes hidden) or commentCount (comments off)
//     is Unknown. YouTube has no saves: Saves is always Unknown.
//   - Shares come from the Analytics API, which only reports the token's own
//     channel (ids=channel==MINE) and lags by a day or two. Shares are asked
//     only for videos of the connected channel and only when the token holds
//     ScopeAnalytics; a permission failure (401/403) of that call leaves
//     Shares Unknown instead of failing the read, and a video without a row is
//     Unknown too.
//   - The Analytics API has a report per video only as the "Top videos"
//     report (Channel reports): dimensions=video needs a descending sort on
//     one of its sort metrics (views, not shares), maxResults ≤ 200, and no
//     video filter; it cannot be paged past the 200th video. Anything else
//     with dimensions=video answers 400 badRequest "The query is not
//     supported". A report without dimensions filtered to one video
//     (filters=video==ID) gives that video's totals. So several videos cost
//     one Top videos report, plus one filtered report per video outside the
//     channel's 200 most viewed in the window (only when the report is full);
//     a single video costs one filtered report.
//   - The Data API quota is 10,000 units a day per Google Cloud project,
//     reset at midnight Pacific time. quotaExceeded fails with a
//     *platform.RateLimitError whose RetryAfter runs to that midnight. The
//     Client counts the units it spends (UnitsUsed) and PollIntervalFor turns
//     the tracked videos of each connected account (each read with its own
//     calls) into the poll interval the quota allows. The
//     Analytics API has its own quota, counted apart (AnalyticsCalls).
//   - The Data API cannot tell a Short from a video: Media.Type is TypeShort
//     when FindMedia was given a /shorts/ permalink, TypeVideo otherwise.
package youtube
