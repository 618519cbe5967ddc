package local

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Allow lets sources (CIDRs) reach the admin user: a pg_hba.conf line
// each (then a reload) for PostgreSQL, an account host each for MariaDB.
// The server listens on 127.0.0.1 until a source outside the loopback
// network is allowed; it is then restarted to listen on every address.
func (p *servers) Allow(ctx context.Context, id string, sources []dbaas.Source) error {
	return p.changeAccess(ctx, id, sources, func(have []string, s string) []string {
		if !slices.Contains(have, s) {
			have = append(have, s)
		}
		return have
	})
}

// Revoke removes sources; removing an absent one is not an error.
func (p *servers) Revoke(ctx context.Context, id string, sources []dbaas.Source) error {
	return p.changeAccess(ctx, id, sources, func(have []string, s string) []string {
		return slices.DeleteFunc(have, func(h string) bool { return h == s })
	})
}

// Access returns the allowed sources. Loopback (127.0.0.1, ::1) is always
// allowed and not listed.
func (p *servers) Access(ctx context.Context, id string) ([]dbaas.Source, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := p.get(id)
	if err != nil {
		return nil, err
	}
	out := make([]dbaas.Source, 0, len(r.Access))
	for _, a := range r.Access {
		out = append(out, dbaas.CIDR(a))
	}
	return out, nil
}

func (p *servers) changeAccess(ctx context.Context, id string, sources []dbaas.Source, change func([]string, string) []string) error {
	r, unlock, err := p.locked(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if r.State != stateRunning && r.State != stateStopped {
		return fail(dbaas.ErrConflict, fmt.Errorf("instance is %s: its access cannot change", r.State))
	}
	if r.Engine == dbaas.MariaDB {
		for _, s := range sources {
			if _, err := hostPattern(s.Value); err != nil {
				return fail(dbaas.ErrUnsupported, err)
			}
		}
	}
	next := *r
	next.Access = slices.Clone(r.Access)
	for _, s := range sources {
		next.Access = change(next.Access, s.Value)
	}
	slices.Sort(next.Access)
	if slices.Equal(next.Access, r.Access) {
		return nil
	}
	if err := p.applyAccess(ctx, r, &next); err != nil {
		// Put the server back as the record says, so the two agree.
		_ = p.applyAccess(context.WithoutCancel(ctx), &next, r)
		return fmt.Errorf("%s", scrub(err.Error(), r.Password))
	}
	if err := p.store.writeRecord(&next); err != nil {
		_ = p.applyAccess(context.WithoutCancel(ctx), &next, r)
		return err
	}
	return nil
}

// applyAccess moves a server from the access list of old to that of next.
// A stopped server only gets its files rewritten (MariaDB's accounts are
// brought in line when it starts).
func (p *servers) applyAccess(ctx context.Context, old, next *record) error {
	eng := p.engine(next)
	pid := p.serverPID(old)
	if pid == 0 {
		if next.State == stateRunning && old.State == stateRunning {
			return fmt.Errorf("server is not running: Start it first")
		}
		return eng.configure(next)
	}
	if opensWider(old) != opensWider(next) {
		// listen_addresses and bind-address take effect only at start.
		p.setOp(next.ID, "modifying")
		defer p.setOp(next.ID, "")
		if err := stopProcess(ctx, pid, p.marker(old), eng.stopSignal(), time.Minute); err != nil {
			return err
		}
		if err := eng.configure(next); err != nil {
			return err
		}
		in, err := p.installation(next.Engine, next.Version)
		if err != nil {
			return err
		}
		if err := p.startServer(ctx, next, in, false); err != nil {
			return err
		}
	}
	return eng.applyAccess(ctx, next)
}
