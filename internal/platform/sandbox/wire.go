package sandbox

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/payper/payper/internal/jsonw"
	"github.com/payper/payper/internal/platform"
)

// The counts endpoint carries every poll's reads: 50 posts a request, one
// request per 50 live posts per poll. encoding/json's reflection was a
// quarter of a poll's CPU on both sides of it, so its body is written by
// appendCounts and read by decodeCounts; both are tested against
// encoding/json on the same values (wire_test.go). Every other endpoint
// uses encoding/json.

// appendCounts appends the JSON of resp — the bytes json.Marshal writes —
// to b.
func appendCounts(b []byte, resp countsResponse) []byte {
	b = append(b, `{"data":[`...)
	for i, it := range resp.Data {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = jsonw.AppendString(b, it.ID)
		b = append(b, `,"account_id":`...)
		b = jsonw.AppendString(b, it.AccountID)
		for m, v := range [5]*int64{it.Views, it.Likes, it.Comments, it.Shares, it.Saves} {
			b = append(b, ',', '"')
			b = append(b, platform.Metrics[m]...)
			b = append(b, '"', ':')
			if v == nil {
				b = append(b, "null"...)
			} else {
				b = strconv.AppendInt(b, *v, 10)
			}
		}
		b = append(b, '}')
	}
	return append(b, ']', '}')
}

// decodeCounts reads a counts answer: {"data":[item, …]}, each item an
// object with a string id and account_id and each metric a whole,
// non-negative number or null (or absent). Anything else is an error.
func decodeCounts(body []byte) ([]countsItem, error) {
	if !gjson.ValidBytes(body) {
		return nil, errors.New("not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, errors.New("not a JSON object")
	}
	data := root.Get("data")
	if !data.IsArray() {
		return nil, errors.New(`"data" is not an array`)
	}
	var out []countsItem
	var err error
	data.ForEach(func(_, v gjson.Result) bool {
		var it countsItem
		if it, err = decodeCountsItem(v); err != nil {
			return false
		}
		out = append(out, it)
		return true
	})
	return out, err
}

func decodeCountsItem(v gjson.Result) (countsItem, error) {
	var it countsItem
	if !v.IsObject() {
		return it, errors.New("an item is not an object")
	}
	counts := [5]**int64{&it.Views, &it.Likes, &it.Comments, &it.Shares, &it.Saves}
	var err error
	v.ForEach(func(k, f gjson.Result) bool {
		switch name := k.String(); name {
		case "id", "account_id":
			if f.Type != gjson.String {
				err = fmt.Errorf("%s is not a string", name)
				return false
			}
			if name == "id" {
				it.ID = f.String()
			} else {
				it.AccountID = f.String()
			}
		default:
			for m, metric := range platform.Metrics {
				if name != string(metric) {
					continue
				}
				switch f.Type {
				case gjson.Null:
					*counts[m] = nil
				case gjson.Number:
					n, perr := strconv.ParseInt(f.Raw, 10, 64)
					if perr != nil {
						err = fmt.Errorf("%s is not a whole number: %s", name, f.Raw)
						return false
					}
					*counts[m] = &n
				default:
					err = fmt.Errorf("%s is not a number", name)
					return false
				}
			}
		}
		return true
	})
	return it, err
}
