package digitalocean

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/digitalocean/godo"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/httpretry"
)

// Firewall rule types of the API.
const (
	ruleIPAddr  = "ip_addr"
	ruleDroplet = "droplet"
	ruleTag     = "tag"
	ruleK8s     = "k8s"
	ruleApp     = "app"
)

// maxFirewallAttempts bounds the read-change-write-confirm rounds of one
// Allow or Revoke that lose to concurrent writers.
const maxFirewallAttempts = 6

// ruleOf maps a source of a kind in capabilities.SourceKinds to a
// firewall rule.
func ruleOf(s dbaas.Source) godo.DatabaseFirewallRule {
	r := godo.DatabaseFirewallRule{Value: s.Value}
	switch s.Kind {
	case dbaas.SourceCIDR:
		r.Type = ruleIPAddr
		// A single address is sent bare, as the API writes it.
		if p, ok := s.Prefix(); ok && p.IsSingleIP() {
			r.Value = p.Addr().String()
		}
	case dbaas.SourceInstance:
		r.Type = ruleDroplet
	case dbaas.SourceTag:
		r.Type = ruleTag
	case dbaas.SourceKubernetes:
		r.Type = ruleK8s
	case dbaas.SourceApp:
		r.Type = ruleApp
	}
	return r
}

// sourceOf maps a firewall rule to a source; false for a rule it cannot
// read.
func sourceOf(r godo.DatabaseFirewallRule) (dbaas.Source, bool) {
	switch r.Type {
	case ruleIPAddr:
		if a, err := netip.ParseAddr(r.Value); err == nil {
			a = a.Unmap()
			return dbaas.CIDR(netip.PrefixFrom(a, a.BitLen()).String()), true
		}
		if p, err := netip.ParsePrefix(r.Value); err == nil {
			return dbaas.CIDR(p.Masked().String()), true
		}
	case ruleDroplet:
		return dbaas.Source{Kind: dbaas.SourceInstance, Value: r.Value}, true
	case ruleTag:
		return dbaas.Source{Kind: dbaas.SourceTag, Value: r.Value}, true
	case ruleK8s:
		return dbaas.Source{Kind: dbaas.SourceKubernetes, Value: r.Value}, true
	case ruleApp:
		return dbaas.Source{Kind: dbaas.SourceApp, Value: r.Value}, true
	}
	return dbaas.Source{}, false
}

// Access returns the cluster's firewall rules as sources.
func (p *client) Access(ctx context.Context, id string) ([]dbaas.Source, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	rules, _, err := p.godo.Databases.GetFirewallRules(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]dbaas.Source, 0, len(rules))
	for _, r := range rules {
		if s, ok := sourceOf(r); ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// Allow adds firewall rules. The API replaces every rule at once, so
// Allow reads the rules, writes them with the new ones, and reads again
// to confirm that no concurrent writer dropped them, starting over if one
// did. Callers of one Provider are serialised per cluster.
func (p *client) Allow(ctx context.Context, id string, sources []dbaas.Source) error {
	return p.changeRules(ctx, id, sources, true)
}

// Revoke removes firewall rules, as Allow adds them. It refuses to
// remove the last rule unless ctx opted into world access: a cluster with
// no rule lets every address in.
func (p *client) Revoke(ctx context.Context, id string, sources []dbaas.Source) error {
	return p.changeRules(ctx, id, sources, false)
}

func (p *client) changeRules(ctx context.Context, id string, sources []dbaas.Source, add bool) error {
	if err := checkID(id); err != nil {
		return err
	}
	want := make(map[string]godo.DatabaseFirewallRule, len(sources))
	for _, s := range sources {
		want[s.String()] = ruleOf(s)
	}
	mu := p.fwLock(id)
	mu.Lock()
	defer mu.Unlock()
	for attempt := 1; ; attempt++ {
		rules, _, err := p.godo.Databases.GetFirewallRules(ctx, id)
		if err != nil {
			return err
		}
		next, changed := applyRules(rules, want, add)
		if !changed {
			return nil
		}
		if len(next) == 0 && !dbaas.WorldAllowed(ctx) {
			return &dbaas.Error{Kind: dbaas.ErrInvalidArgument, Field: "sources", Err: errors.New(
				"revoking every firewall rule lets every address in (DigitalOcean opens a cluster that has none): keep one, or opt in with dbaas.WithWorldAccess (the CLI's --allow-world)")}
		}
		if _, err := p.godo.Databases.UpdateFirewallRules(ctx, id, &godo.DatabaseUpdateFirewallRulesRequest{Rules: next}); err != nil {
			return err
		}
		rules, _, err = p.godo.Databases.GetFirewallRules(ctx, id)
		if err != nil {
			return err
		}
		if _, changed := applyRules(rules, want, add); !changed {
			return nil
		}
		if attempt >= maxFirewallAttempts {
			return &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf("firewall rules were changed by another writer %d times in a row", attempt)}
		}
		// Someone else wrote meanwhile: back off a random while so that
		// two writers do not keep overwriting each other in step.
		d := time.Duration(50+rand.IntN(200)) * time.Millisecond * time.Duration(attempt)
		if err := httpretry.Sleep(ctx, p.clock, d); err != nil {
			return err
		}
	}
}

// applyRules returns the rule list with want added (or removed) and
// whether that differs from rules. Rules kept keep their uuid.
func applyRules(rules []godo.DatabaseFirewallRule, want map[string]godo.DatabaseFirewallRule, add bool) ([]*godo.DatabaseFirewallRule, bool) {
	present := map[string]bool{}
	out := make([]*godo.DatabaseFirewallRule, 0, len(rules)+len(want))
	changed := false
	for i := range rules {
		r := rules[i]
		key := ""
		if s, ok := sourceOf(r); ok {
			key = s.String()
		}
		if _, hit := want[key]; hit && key != "" {
			present[key] = true
			if !add {
				changed = true
				continue
			}
		}
		out = append(out, &godo.DatabaseFirewallRule{UUID: r.UUID, Type: r.Type, Value: r.Value})
	}
	if add {
		// New rules go in a stable order, so the list reads the same
		// whichever process wrote it.
		for _, key := range slices.Sorted(maps.Keys(want)) {
			r := want[key]
			if !present[key] {
				out = append(out, &godo.DatabaseFirewallRule{Type: r.Type, Value: r.Value})
				changed = true
			}
		}
	}
	return out, changed
}
