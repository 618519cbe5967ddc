package linode

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/linode/linodego"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// apiError returns the linodego error inside err (linodego returns both
// *Error and Error values) as a pointer, or nil.
func apiError(err error) *linodego.Error {
	var p *linodego.Error
	if errors.As(err, &p) && p != nil {
		return p
	}
	var v linodego.Error
	if errors.As(err, &v) {
		return &v
	}
	return nil
}

// httpStatus is the HTTP status of a linodego error, or 0 when the request
// got no answer (linodego codes below 100 say where a Go error came from).
func httpStatus(e *linodego.Error) int {
	if e == nil || e.Code < 100 {
		return 0
	}
	return e.Code
}

// fieldRE reads the field of linodego's "[field] reason" messages.
var fieldRE = regexp.MustCompile(`^\[([A-Za-z0-9_.]+)\] `)

// specField names the dbaas.Spec field for a Linode request field.
func specField(f string) string {
	switch {
	case f == "label":
		return "name"
	case f == "type":
		return "size"
	case f == "cluster_size":
		return "nodes"
	case f == "allow_list":
		return "access"
	case f == "private_network.subnet_id":
		return "subnet"
	case strings.HasPrefix(f, "private_network"):
		return "private_network"
	case strings.HasPrefix(f, "fork"):
		return "backup_id"
	}
	return f
}

// wrap turns an error of a linodego call into a *dbaas.Error carrying the
// sentinel for its status, with the linodego error as its cause (for
// errors.As). A cancelled or expired context wins over what linodego made
// of it (linodego flattens Go errors into text).
func wrap(ctx context.Context, op, id string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return dbaas.NewError(op, id, nil, cerr)
	}
	e := apiError(err)
	if e == nil {
		return dbaas.NewError(op, id, nil, err)
	}
	var kind error
	switch status := httpStatus(e); {
	case status == http.StatusBadRequest:
		kind = dbaas.ErrInvalidArgument
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		kind = dbaas.ErrPermissionDenied
	case status == http.StatusNotFound:
		kind = dbaas.ErrNotFound
	case status == http.StatusConflict:
		kind = dbaas.ErrConflict
	case status == http.StatusTooManyRequests:
		kind = dbaas.ErrRateLimited
	}
	out := dbaas.NewError(op, id, kind, e)
	if kind == dbaas.ErrInvalidArgument {
		if m := fieldRE.FindStringSubmatch(e.Message); m != nil {
			out.Field = specField(m[1])
			if m[1] == "label" && strings.Contains(strings.ToLower(e.Message), "unique") {
				out.Kind = dbaas.ErrAlreadyExists
			}
		}
	}
	return out
}

// ambiguous reports whether a failed POST may still have taken effect:
// no answer at all, a timeout or a server error.
func ambiguous(err error) bool {
	e := apiError(err)
	if e == nil {
		return true
	}
	s := httpStatus(e)
	return s == 0 || s == http.StatusRequestTimeout || s >= 500
}

// retryAfter reads Retry-After from a 429, defaulting to def.
func retryAfter(err error, def time.Duration) time.Duration {
	e := apiError(err)
	if e == nil || e.Response == nil {
		return def
	}
	n, perr := strconv.Atoi(e.Response.Header.Get("Retry-After"))
	if perr != nil || n < 0 {
		return def
	}
	return time.Duration(n) * time.Second
}

// sleep waits d on clock, or until ctx ends.
func sleep(ctx context.Context, clock dbaas.Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-clock.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
