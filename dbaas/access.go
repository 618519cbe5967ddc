package dbaas

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// AccessChange is what SyncAccess did.
type AccessChange struct {
	Added   []Source `json:"added"`
	Removed []Source `json:"removed"`
}

// Empty reports whether nothing changed.
func (c AccessChange) Empty() bool { return len(c.Added) == 0 && len(c.Removed) == 0 }

// SyncAccess makes the access list of instance id exactly desired, with
// the fewest calls: one Access, then at most one Allow and one Revoke for
// the difference. It adds before it removes, so a source present in both
// lists never loses access in between. This is the toolkit's cron job: run
// it every minute with the current web servers.
//
// A world-open source (0.0.0.0/0, ::/0) in desired is refused unless the
// AllowWorld option is given.
func SyncAccess(ctx context.Context, p Provider, id string, desired []Source, opts ...SyncOption) (AccessChange, error) {
	var change AccessChange
	var o syncOptions
	for _, opt := range opts {
		opt(&o)
	}
	if p == nil {
		return change, fmt.Errorf("sync access %s: provider is nil: %w", truncate(id, 64), ErrInvalidArgument)
	}
	if id == "" {
		return change, fmt.Errorf("sync access: id is empty: %w", ErrInvalidArgument)
	}
	if len(desired) == 0 && !o.allowWorld && p.Capabilities().EmptyAccessIsWorld {
		return change, &Error{Op: "sync access", ID: id, Kind: ErrInvalidArgument,
			Err: errors.New("an empty access list lets every address in on this provider: keep at least one source (such as the private network's range), or give AllowWorld")}
	}
	want := make(map[string]Source, len(desired))
	for i, s := range desired {
		if err := s.Validate(); err != nil {
			return change, fmt.Errorf("sync access %s: desired[%d]: %w", id, i, err)
		}
		if s.IsWorld() && !o.allowWorld {
			return change, fmt.Errorf("sync access %s: desired[%d]: %s opens the database to the whole internet and AllowWorld was not given: %w", id, i, s, ErrInvalidArgument)
		}
		want[s.String()] = s
	}
	if o.allowWorld {
		ctx = WithWorldAccess(ctx)
	}
	current, err := p.Access(ctx, id)
	if err != nil {
		return change, fmt.Errorf("sync access %s: %w", id, err)
	}
	have := make(map[string]bool, len(current))
	for _, s := range current {
		have[s.String()] = true
		if _, ok := want[s.String()]; !ok && !slices.Contains(o.keep, s.Kind) {
			change.Removed = append(change.Removed, s)
		}
	}
	for k, s := range want {
		if !have[k] {
			change.Added = append(change.Added, s)
		}
	}
	sortSources(change.Added)
	sortSources(change.Removed)
	if len(change.Added) > 0 {
		if err := p.Allow(ctx, id, change.Added...); err != nil {
			return AccessChange{}, fmt.Errorf("sync access %s: %w", id, err)
		}
	}
	if len(change.Removed) > 0 {
		if err := p.Revoke(ctx, id, change.Removed...); err != nil {
			return AccessChange{Added: change.Added}, fmt.Errorf("sync access %s: %w", id, err)
		}
	}
	return change, nil
}

// SyncOption tunes SyncAccess.
type SyncOption func(*syncOptions)

type syncOptions struct {
	allowWorld bool
	keep       []SourceKind
}

// AllowWorld lets SyncAccess open the database to 0.0.0.0/0 or ::/0.
func AllowWorld() SyncOption { return func(o *syncOptions) { o.allowWorld = true } }

// KeepKinds leaves the sources of these kinds that the access list holds
// alone: SyncAccess neither removes them nor asks for them. The toolkit
// syncs its web servers' addresses and keeps the security group that
// AWS's Create lets in (SourceSecurityGroup).
func KeepKinds(kinds ...SourceKind) SyncOption {
	return func(o *syncOptions) { o.keep = append(o.keep, kinds...) }
}

func sortSources(s []Source) {
	sort.Slice(s, func(i, j int) bool { return s[i].String() < s[j].String() })
}

// PortMismatchError is CheckPort's error: the configured port differs from
// the one the database listens on. It wraps ErrConflict.
type PortMismatchError struct {
	InstanceID string
	Configured int
	Actual     int
	// Provider, when set, is the provider that chose Actual and lets no
	// one choose the port (its Capabilities.CustomPort is false): the
	// configured port is then the only one that can change.
	Provider string
}

func (e *PortMismatchError) Error() string {
	msg := fmt.Sprintf("port mismatch for instance %s: configured port %d, but the database listens on %d: set the configured database port (DB_PORT) to %d",
		e.InstanceID, e.Configured, e.Actual, e.Actual)
	if e.Provider != "" {
		return msg + " (" + e.Provider + " chooses the port; it cannot be set)"
	}
	return msg + fmt.Sprintf(", or recreate the instance with port %d", e.Configured)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *PortMismatchError) Unwrap() error { return ErrConflict }

// CheckPort returns a *PortMismatchError when configured (the port a
// deployment was told to use) differs from the instance's real port, so
// that "things go south" loudly at once rather than quietly later. A
// configured port of 0 means "not configured" and always passes.
func CheckPort(inst *Instance, configured int) error {
	if inst == nil {
		return fmt.Errorf("check port: instance is nil: %w", ErrInvalidArgument)
	}
	if configured < 0 || configured > 65535 {
		return fmt.Errorf("check port %s: configured port %d is not 0 to 65535: %w", inst.ID, configured, ErrInvalidArgument)
	}
	if inst.Endpoint.Port == 0 {
		return fmt.Errorf("check port %s: instance has no port yet (status %s): wait until it is available: %w", inst.ID, inst.Status, ErrConflict)
	}
	if configured == 0 || configured == inst.Endpoint.Port {
		return nil
	}
	err := &PortMismatchError{InstanceID: inst.ID, Configured: configured, Actual: inst.Endpoint.Port}
	if caps, cerr := CapabilitiesOf(inst.Provider); cerr == nil && !caps.CustomPort {
		err.Provider = inst.Provider
	}
	return err
}

// MaxIDLen is the longest instance or backup id any provider makes; a
// longer one is not found, without a call.
const MaxIDLen = 1024

type worldKey struct{}

// WithWorldAccess returns a context in which Provider.Allow may add a
// source that opens the database to the whole internet (0.0.0.0/0,
// ::/0). Without it such a source is refused: no default, and no
// sequence of calls, opens a database to the world by accident.
func WithWorldAccess(ctx context.Context) context.Context {
	return context.WithValue(ctx, worldKey{}, true)
}

// WorldAllowed reports whether ctx was made by WithWorldAccess.
func WorldAllowed(ctx context.Context) bool {
	v, _ := ctx.Value(worldKey{}).(bool)
	return v
}
