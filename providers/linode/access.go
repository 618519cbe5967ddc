package linode

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/linode/linodego"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Access returns the allow_list as CIDR sources. One API call.
func (p *client) Access(ctx context.Context, id string) ([]dbaas.Source, error) {
	_, rec, err := p.read(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]dbaas.Source, 0, len(rec.allowList))
	for _, e := range rec.allowList {
		s, err := dbaas.ParseSource(e)
		if err != nil {
			return nil, fmt.Errorf("allow_list entry %q: %w", truncate(e), err)
		}
		out = append(out, s)
	}
	return out, nil
}

// Allow adds IPv4 addresses and networks to the allow_list (the portable
// layer refuses other source kinds; IPv6 is refused here, before a call).
//
// Linode's PUT replaces the whole list, so Allow reads it, writes the
// union and reads it again to confirm: when another writer replaced the
// list in between and dropped an entry, it starts over. Calls from this
// provider to one instance take turns. A present source is not sent
// again (one call when there is nothing to add).
func (p *client) Allow(ctx context.Context, id string, sources []dbaas.Source) error {
	add, err := allowList("sources", sources)
	if err != nil {
		return err
	}
	return p.changeAllowList(ctx, id, func(cur []string) []string {
		out := slices.Clone(cur)
		for _, a := range add {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
		return out
	}, func(got []string) bool {
		for _, a := range add {
			if !slices.Contains(got, a) {
				return false
			}
		}
		return true
	})
}

// Revoke removes IPv4 addresses and networks from the allow_list, with
// the same read, write, confirm rounds as Allow.
func (p *client) Revoke(ctx context.Context, id string, sources []dbaas.Source) error {
	drop, err := allowList("sources", sources)
	if err != nil {
		return err
	}
	return p.changeAllowList(ctx, id, func(cur []string) []string {
		return slices.DeleteFunc(slices.Clone(cur), func(e string) bool { return slices.Contains(drop, e) })
	}, func(got []string) bool {
		for _, d := range drop {
			if slices.Contains(got, d) {
				return false
			}
		}
		return true
	})
}

// errListChanging says that the allow_list kept being replaced.
var errListChanging = errors.New("another writer kept replacing the allow_list")

// changeAllowList runs read, change, write, confirm rounds until done
// holds for the list read back.
func (p *client) changeAllowList(ctx context.Context, id string, change func([]string) []string, done func([]string) bool) error {
	iid, err := parseID("id", id)
	if err != nil {
		return err
	}
	unlock, err := p.lock(ctx, iid.String())
	if err != nil {
		return err
	}
	defer unlock()
	for range maxAccessAttempts {
		rec, err := p.get(ctx, iid)
		if err != nil {
			return err
		}
		if done(rec.allowList) {
			return nil
		}
		if rec.status != linodego.DatabaseStatusActive {
			return &dbaas.Error{Kind: dbaas.ErrConflict,
				Err: fmt.Errorf("instance is %s: Linode changes the allow_list of an active database only", rec.status)}
		}
		want := change(rec.allowList)
		if iid.engine == enginePostgres {
			_, err = p.api.UpdatePostgresDatabase(ctx, iid.num, linodego.PostgresUpdateOptions{AllowList: &want})
		} else {
			_, err = p.api.UpdateMySQLDatabase(ctx, iid.num, linodego.MySQLUpdateOptions{AllowList: &want})
		}
		if err != nil {
			return fail(ctx, err)
		}
		// Confirm: a writer that read before our PUT and wrote after it
		// dropped our change; the next round reads its list and merges.
		rec, err = p.get(ctx, iid)
		if err != nil {
			return err
		}
		if done(rec.allowList) {
			return nil
		}
	}
	return &dbaas.Error{Kind: dbaas.ErrConflict, Err: errListChanging}
}

// lock makes calls of this provider that change one instance's
// allow_list take turns.
func (p *client) lock(ctx context.Context, id string) (func(), error) {
	v, _ := p.locks.LoadOrStore(id, make(chan struct{}, 1))
	ch := v.(chan struct{})
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
