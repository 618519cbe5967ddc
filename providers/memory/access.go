package memory

import (
	"context"
	"fmt"
	"slices"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Allow adds sources to the access list, in the order given; a source
// already present is left as it is. Every source kind is accepted. The
// list is refused whole when one source is invalid, before any change.
func (p *store) Allow(ctx context.Context, id string, sources []dbaas.Source) error {
	return p.changeAccess(ctx, "allow", id, sources, func(list []dbaas.Source, s dbaas.Source) []dbaas.Source {
		if slices.Contains(list, s) {
			return list
		}
		return append(list, s)
	})
}

// Revoke removes sources from the access list; an absent one is not an
// error.
func (p *store) Revoke(ctx context.Context, id string, sources []dbaas.Source) error {
	return p.changeAccess(ctx, "revoke", id, sources, func(list []dbaas.Source, s dbaas.Source) []dbaas.Source {
		return slices.DeleteFunc(list, func(x dbaas.Source) bool { return x == s })
	})
}

func (p *store) changeAccess(ctx context.Context, op, id string, sources []dbaas.Source,
	apply func([]dbaas.Source, dbaas.Source) []dbaas.Source) error {
	if err := p.begin(ctx, op, id); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	in, err := p.lookupLocked(op, id, now)
	if err != nil {
		return err
	}
	if st := in.status(now); st == dbaas.StatusDeleting {
		return conflict(op, id, st, "its access list cannot change")
	}
	if op == "allow" {
		// Count only the new sources, so that repeating an Allow never fails.
		n := len(in.access)
		for _, s := range sources {
			if !slices.Contains(in.access, s) {
				n++
			}
		}
		if n > dbaas.MaxAccessSources {
			return newErr(nil, dbaas.InvalidField("sources", fmt.Sprintf("the access list would hold %d sources, more than %d", n, dbaas.MaxAccessSources)))
		}
	}
	for _, s := range sources {
		in.access = apply(in.access, s)
	}
	return nil
}

// Access returns the access list in the order the sources were added.
func (p *store) Access(ctx context.Context, id string) ([]dbaas.Source, error) {
	if err := p.begin(ctx, "access", id); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	in, err := p.lookupLocked("access", id, p.now())
	if err != nil {
		return nil, err
	}
	return slices.Clone(in.access), nil
}
