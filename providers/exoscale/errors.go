package exoscale

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	v3 "github.com/exoscale/egoscale/v3"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/httpretry"
)

// OperationError is an asynchronous operation that ended in failure or
// timeout: the API accepted the request, then did not carry it out.
type OperationError struct {
	// Operation is the operation as the API last reported it.
	Operation *v3.Operation
}

func (e *OperationError) Error() string {
	o := e.Operation
	msg := fmt.Sprintf("operation %s ended in %s", o.ID, o.State)
	if o.Reason != "" {
		msg += " (" + string(o.Reason) + ")"
	}
	if o.Message != "" {
		msg += ": " + o.Message
	}
	return msg
}

// kind maps the operation's failure reason to a sentinel.
func (e *OperationError) kind() error {
	switch e.Operation.Reason {
	case v3.OperationReasonIncorrect:
		return dbaas.ErrInvalidArgument
	case v3.OperationReasonNotFound:
		return dbaas.ErrNotFound
	case v3.OperationReasonConflict, v3.OperationReasonBusy:
		return dbaas.ErrConflict
	case v3.OperationReasonForbidden:
		return dbaas.ErrPermissionDenied
	case v3.OperationReasonUnsupported:
		return dbaas.ErrUnsupported
	}
	return nil
}

// SignatureError is the API refusing a request's credentials: a wrong
// key or secret, or a signature that expired on arrival because the
// clocks of client and API differ.
type SignatureError struct {
	Err error
}

func (e *SignatureError) Error() string {
	return "the API refused the request signature (check " + EnvAPIKey + " and " + EnvAPISecret +
		", and that this machine's clock is right: signatures expire, so a clock skew of minutes fails every request): " + e.Err.Error()
}

func (e *SignatureError) Unwrap() error { return e.Err }

// explain turns the API's refusal of credentials into a SignatureError,
// so that a wrong key or secret, or a clock skew, reads as such: a 401,
// or a 403 whose message is about the signature, the key or the expiry.
// Other 403s (a key whose role does not allow the call, a protected
// service) stay as they are.
func explain(err error) error {
	var apiErr *v3.APIError
	if err == nil || !errors.As(err, &apiErr) {
		return err
	}
	if errors.Is(err, v3.ErrUnauthorized) {
		return &SignatureError{Err: err}
	}
	msg := strings.ToLower(apiErr.Message)
	if errors.Is(err, v3.ErrForbidden) {
		for _, word := range []string{"signature", "expired", "api key", "credential", "authorization header"} {
			if strings.Contains(msg, word) {
				return &SignatureError{Err: err}
			}
		}
	}
	return err
}

// follow polls the operation until it ends and returns an
// *OperationError unless it succeeded. Polls are 1 s apart at first and
// three times further apart each time, up to 30 s, on the provider's
// clock: an operation of half a minute costs four polls, where
// egoscale's own Wait (every 3 s) makes ten. The context bounds the
// whole.
func (p *provider) follow(ctx context.Context, op *v3.Operation) error {
	delay := time.Second
	for op.State == v3.OperationStatePending {
		if err := httpretry.Sleep(ctx, p.clock, delay); err != nil {
			return fmt.Errorf("waiting for operation %s: %w", op.ID, err)
		}
		delay = min(3*delay, 30*time.Second)
		next, err := p.client.GetOperation(ctx, op.ID)
		if err != nil {
			return fmt.Errorf("operation %s: %w", op.ID, explain(err))
		}
		op = next
	}
	if op.State != v3.OperationStateSuccess {
		return &OperationError{Operation: op}
	}
	return nil
}

// do sends a write and follows its operation.
func (p *provider) do(ctx context.Context, op *v3.Operation, err error) error {
	if err != nil {
		return explain(err)
	}
	return p.follow(ctx, op)
}
