package vultr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"time"

	"github.com/vultr/govultr/v3"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// maxAccessRounds bounds the read-change-write-confirm rounds of one
// Allow or Revoke that lose to concurrent writers.
const maxAccessRounds = 6

// sourceOf reads a trusted IP entry (a CIDR, or a bare address as older
// databases may hold) as a source; false for one it cannot read.
func sourceOf(v string) (dbaas.Source, bool) {
	if a, err := netip.ParseAddr(v); err == nil {
		a = a.Unmap()
		return dbaas.CIDR(netip.PrefixFrom(a, a.BitLen()).String()), true
	}
	if p, err := netip.ParsePrefix(v); err == nil {
		return dbaas.CIDR(p.Masked().String()), true
	}
	return dbaas.Source{}, false
}

// sourcesOf reads a trusted IP list, keeping the entries it can read,
// each once, in order.
func sourcesOf(list []string) []dbaas.Source {
	out := make([]dbaas.Source, 0, len(list))
	for _, v := range list {
		if s, ok := sourceOf(v); ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Access returns the trusted IPs.
func (d *vultrDriver) Access(ctx context.Context, id string) ([]dbaas.Source, error) {
	db, err := d.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return sourcesOf(db.TrustedIPs), nil
}

// Allow adds sources to the trusted IPs.
func (d *vultrDriver) Allow(ctx context.Context, id string, sources []dbaas.Source) error {
	return d.changeAccess(ctx, id, func(list []dbaas.Source) []dbaas.Source {
		for _, s := range sources {
			if !slices.Contains(list, s) {
				list = append(list, s)
			}
		}
		return list
	}, func(list []dbaas.Source) bool {
		for _, s := range sources {
			if !slices.Contains(list, s) {
				return false
			}
		}
		return true
	})
}

// Revoke removes sources from the trusted IPs. Removing the last one is
// refused unless the context allows world access (dbaas.WithWorldAccess):
// Vultr lets every address in when the list is empty.
func (d *vultrDriver) Revoke(ctx context.Context, id string, sources []dbaas.Source) error {
	return d.changeAccess(ctx, id, func(list []dbaas.Source) []dbaas.Source {
		return slices.DeleteFunc(list, func(s dbaas.Source) bool { return slices.Contains(sources, s) })
	}, func(list []dbaas.Source) bool {
		return !slices.ContainsFunc(list, func(s dbaas.Source) bool { return slices.Contains(sources, s) })
	})
}

// changeAccess reads the trusted IPs, changes them, writes the whole list
// (the API replaces it and has no version to write against) and, after a
// pause as long as a writer elsewhere needs to finish a write it began
// before ours, reads it again to confirm: when such a writer undid the
// change, the round is run again. Calls in this process on one database
// take turns. Writers elsewhere that take longer than that pause between
// their read and their write can still undo a confirmed change; nothing
// but a versioned API could prevent that.
func (d *vultrDriver) changeAccess(ctx context.Context, id string, change func([]dbaas.Source) []dbaas.Source, done func([]dbaas.Source) bool) error {
	unlock := d.locks.lock("db:" + id)
	defer unlock()
	db, err := d.get(ctx, id)
	if err != nil {
		return err
	}
	for range maxAccessRounds {
		current := sourcesOf(db.TrustedIPs)
		if done(current) {
			return nil
		}
		want := change(slices.Clone(current))
		if len(want) == 0 && !dbaas.WorldAllowed(ctx) {
			return &dbaas.Error{Kind: dbaas.ErrConflict, Err: errors.New("removing the last trusted IP would let every address in (Vultr's rule for an empty list): allow another source first, or opt in with dbaas.WithWorldAccess")}
		}
		if err := d.putTrustedIPs(ctx, id, want); err != nil {
			return err
		}
		// A writer elsewhere that read the list before this write writes
		// within about the time a read and a write take: confirm after
		// that long, so that its overwrite is seen and undone.
		if err := sleep(ctx, settle(d.rtt.get())); err != nil {
			return err
		}
		if db, err = d.get(ctx, id); err != nil {
			return err
		}
	}
	if done(sourcesOf(db.TrustedIPs)) {
		return nil
	}
	return &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf("the trusted IPs kept changing under %d rounds of read, write and confirm: another writer is changing them", maxAccessRounds)}
}

// settle is how long to wait after a write of the trusted IPs before
// reading them again to confirm it, from the API's usual answer time
// rtt (limiter waits left out): twice a read and a write (real time: it
// is about the network, not the provider's clock), at most a few
// seconds.
func settle(rtt time.Duration) time.Duration { return min(4*rtt, 5*time.Second) }

// sleep waits d of real time, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// putTrustedIPs replaces the trusted IPs. govultr leaves an empty list
// out of its update body (omitempty), so an empty list is sent in a body
// of its own, through govultr's request builder.
func (d *vultrDriver) putTrustedIPs(ctx context.Context, id string, list []dbaas.Source) error {
	ips := make([]string, len(list))
	for i, s := range list {
		ips[i] = s.Value
	}
	return d.call(ctx, true, func(ctx context.Context) error {
		if len(ips) > 0 {
			_, _, err := d.client.Database.Update(ctx, url.PathEscape(id), &govultr.DatabaseUpdateReq{TrustedIPs: ips})
			return err
		}
		req, err := d.client.NewRequest(ctx, http.MethodPut, "/v2/databases/"+url.PathEscape(id), map[string][]string{"trusted_ips": {}})
		if err != nil {
			return err
		}
		_, err = d.client.DoWithContext(ctx, req, nil)
		return err
	})
}
