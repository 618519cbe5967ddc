package dbaas

import (
	"context"
	"errors"
	"fmt"
)

// FindByName returns the instance named name, or ErrNotFound.
func FindByName(ctx context.Context, p Provider, name string) (*Instance, error) {
	list, err := p.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", truncate(name, 64), err)
	}
	for _, inst := range list {
		if inst != nil && inst.Name == name {
			return inst, nil
		}
	}
	return nil, &Error{Op: "find", ID: name, Kind: ErrNotFound}
}

// Ensure returns the instance named spec.Name, creating it when there is
// none. An existing instance of another engine, or one that is failed or
// being deleted, is an error wrapping ErrConflict that names it, never
// silently reused. created reports whether Ensure made it. It does not
// wait; call Wait next.
func Ensure(ctx context.Context, p Provider, spec Spec) (inst *Instance, created bool, err error) {
	if p == nil {
		return nil, false, fmt.Errorf("ensure: provider is nil: %w", ErrInvalidArgument)
	}
	if err := spec.Validate(); err != nil {
		return nil, false, fmt.Errorf("ensure %s: %w", truncate(spec.Name, 64), err)
	}
	check := func(inst *Instance) (*Instance, bool, error) {
		if inst.Engine != spec.Engine {
			return inst, false, &Error{Op: "ensure", ID: spec.Name, Kind: ErrConflict,
				Err: fmt.Errorf("instance %s exists with engine %s, not %s: choose another name or delete it", inst.ID, inst.Engine, spec.Engine)}
		}
		switch inst.Status {
		case StatusFailed, StatusDeleting:
			return inst, false, &Error{Op: "ensure", ID: spec.Name, Kind: ErrConflict,
				Err: fmt.Errorf("instance %s exists and is %s (%s): delete it and ensure again, or choose another name", inst.ID, inst.Status, truncate(inst.RawStatus, 200))}
		}
		return inst, false, nil
	}
	existing, err := FindByName(ctx, p, spec.Name)
	switch {
	case err == nil:
		return check(existing)
	case !errors.Is(err, ErrNotFound):
		return nil, false, fmt.Errorf("ensure %s: %w", spec.Name, err)
	}
	inst, err = p.Create(ctx, spec)
	if errors.Is(err, ErrAlreadyExists) {
		// Another caller created it between our List and Create.
		existing, ferr := FindByName(ctx, p, spec.Name)
		if ferr != nil {
			return nil, false, fmt.Errorf("ensure %s: %w", spec.Name, err)
		}
		return check(existing)
	}
	if err != nil {
		return nil, false, fmt.Errorf("ensure %s: %w", spec.Name, err)
	}
	return inst, true, nil
}
