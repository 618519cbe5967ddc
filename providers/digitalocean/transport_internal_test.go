package digitalocean

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
)

func TestServerDelay(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tr := &transport{clock: fakeclock.New(now)}
	reset := strconv.FormatInt(now.Add(42*time.Second).Unix(), 10)
	tests := []struct {
		name    string
		headers map[string]string
		want    time.Duration
		ok      bool
	}{
		{"Retry-After seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second, true},
		{"Retry-After date", map[string]string{"Retry-After": now.Add(9 * time.Second).Format(http.TimeFormat)}, 9 * time.Second, true},
		{"Retry-After wins over reset", map[string]string{"Retry-After": "3", "RateLimit-Remaining": "0", "RateLimit-Reset": reset}, 3 * time.Second, true},
		{"reset when nothing remains", map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": reset}, 42 * time.Second, true},
		{"reset ignored while requests remain", map[string]string{"RateLimit-Remaining": "10", "RateLimit-Reset": reset}, 0, false},
		{"reset in the past", map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": strconv.FormatInt(now.Add(-time.Minute).Unix(), 10)}, 0, true},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0, false},
		{"nothing", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{Header: http.Header{}}
			for k, v := range tt.headers {
				resp.Header.Set(k, v)
			}
			got, ok := tr.serverDelay(resp)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFieldOf(t *testing.T) {
	for msg, want := range map[string]string{
		"region mars1 is not available for engine pg":             "region",
		"size db-x is not available for engine pg with 1 node(s)": "size",
		"num_nodes must be 1, 2 or 3":                             "nodes",
		"version 9 is not available for engine pg":                "version",
		"rules[0]: value \"x\" is not an IP address or CIDR":      "access",
		"private_network_uuid x is not a VPC in region fra1":      "private_network",
		"storage_size_mib must be a multiple of 10240":            "storage_gb",
		"backup_restore: no backup of a was created at b":         "backup_id",
		"something else entirely":                                 "",
	} {
		assert.Equal(t, want, fieldOf(msg), msg)
	}
}

func FuzzParseBackupID(f *testing.F) {
	f.Add("0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11/2026-01-01T00:00:00Z")
	f.Add("x/2026-01-01T00:00:00+02:00")
	f.Add("/2026-01-01T00:00:00Z")
	f.Add("abc")
	f.Fuzz(func(t *testing.T, id string) {
		cluster, at, err := parseBackupID(id)
		if err != nil {
			return
		}
		if cluster == "" {
			t.Fatalf("%q: empty cluster accepted", id)
		}
		again, at2, err := parseBackupID(backupID(cluster, at))
		if err != nil || again != cluster || !at2.Equal(at) {
			t.Fatalf("%q: round trip gave %q %v %v", id, again, at2, err)
		}
	})
}

func TestStatusOf(t *testing.T) {
	for raw, want := range map[string]dbaas.Status{
		"creating": dbaas.StatusProvisioning, "online": dbaas.StatusAvailable, "resizing": dbaas.StatusModifying,
		"migrating": dbaas.StatusModifying, "forking": dbaas.StatusRestoring, "decommissioned": dbaas.StatusUnknown,
	} {
		assert.Equal(t, want, statusOf(raw), raw)
	}
}

func TestErrorKind(t *testing.T) {
	errResp := func(status int, id, msg string) error {
		resp := &http.Response{StatusCode: status, Header: http.Header{}, Request: &http.Request{Method: "GET", URL: &url.URL{Path: "/v2/databases"}}}
		if id != "" {
			resp.Header.Set(headerErrorID, id)
		}
		return &godo.ErrorResponse{Response: resp, Message: msg}
	}
	tests := []struct {
		name  string
		err   error
		kind  error
		field string
	}{
		{"401", errResp(401, "unauthorized", "Unable to authenticate you."), dbaas.ErrPermissionDenied, ""},
		{"403", errResp(403, "forbidden", "You do not have access"), dbaas.ErrPermissionDenied, ""},
		{"404", errResp(404, "not_found", "gone"), dbaas.ErrNotFound, ""},
		{"not_found id on another status", errResp(400, "not_found", "no such backup"), dbaas.ErrNotFound, ""},
		{"409", errResp(409, "conflict", "busy"), dbaas.ErrConflict, ""},
		{"429", errResp(429, "too_many_requests", "API rate limit exceeded."), dbaas.ErrRateLimited, ""},
		{"422 region", errResp(422, "unprocessable_entity", "region mars1 is not available"), dbaas.ErrInvalidArgument, "region"},
		{"422 name taken", errResp(422, "unprocessable_entity", "name shop is already in use by another cluster"), dbaas.ErrAlreadyExists, ""},
		{"500", errResp(500, "server_error", "Unexpected server-side error"), nil, ""},
		{"transport", errors.New("connection reset"), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.kind, (&client{}).ErrorKind(tt.err))
			err := withField(tt.err)
			assert.ErrorIs(t, err, tt.err, "the cause stays reachable")
			var de *dbaas.Error
			if tt.field == "" {
				assert.False(t, errors.As(err, &de), "no field to name")
				return
			}
			require.True(t, errors.As(err, &de))
			assert.Equal(t, tt.field, de.Field)
		})
	}
}
