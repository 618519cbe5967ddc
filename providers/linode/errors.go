package linode

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"

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

// ErrorKind maps a linodego error to the sentinel its status means. A
// 400 on the label that says it must be unique is a name in use.
func (p *client) ErrorKind(err error) error {
	e := apiError(err)
	switch httpStatus(e) {
	case http.StatusBadRequest:
		if m := fieldRE.FindStringSubmatch(e.Message); m != nil && m[1] == "label" && strings.Contains(strings.ToLower(e.Message), "unique") {
			return dbaas.ErrAlreadyExists
		}
		return dbaas.ErrInvalidArgument
	case http.StatusUnauthorized, http.StatusForbidden:
		return dbaas.ErrPermissionDenied
	case http.StatusNotFound:
		return dbaas.ErrNotFound
	case http.StatusConflict:
		return dbaas.ErrConflict
	case http.StatusTooManyRequests:
		return dbaas.ErrRateLimited
	}
	return nil
}

// fail returns the error of a linodego call as the driver reports it:
// the context's error when ctx ended (linodego flattens Go errors into
// text), the linodego error with the Spec field it names for a 400, else
// the linodego error.
func fail(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	e := apiError(err)
	if e == nil {
		return err
	}
	if m := fieldRE.FindStringSubmatch(e.Message); m != nil && httpStatus(e) == http.StatusBadRequest {
		return &dbaas.Error{Field: specField(m[1]), Err: e}
	}
	return e
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
