package exoscale

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"

	v3 "github.com/exoscale/egoscale/v3"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// The ip-filter is one list, written whole: Allow and Revoke read it,
// change it, write it and read it again to confirm, under a lock per
// service, so that concurrent calls in this process never lose an entry.
// A write that another client overwrote meanwhile is done again.

// maxAccessRounds bounds the read-change-write-confirm rounds of one call.
const maxAccessRounds = 5

func (p *provider) Access(ctx context.Context, id string) ([]dbaas.Source, error) {
	s, err := p.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return sources(s.ipFilter), nil
}

// sources reads an ip-filter as CIDR sources, in the API's order.
func sources(filter []string) []dbaas.Source {
	out := make([]dbaas.Source, 0, len(filter))
	for _, v := range filter {
		src, err := dbaas.ParseSource(v)
		if err != nil {
			src = dbaas.CIDR(v)
		}
		out = append(out, src)
	}
	return out
}

func (p *provider) Allow(ctx context.Context, id string, add []dbaas.Source) error {
	return p.changeAccess(ctx, id, func(have []dbaas.Source) []dbaas.Source {
		for _, s := range add {
			if !slices.Contains(have, s) {
				have = append(have, s)
			}
		}
		return have
	}, func(have []dbaas.Source) bool {
		for _, s := range add {
			if !slices.Contains(have, s) {
				return false
			}
		}
		return true
	})
}

func (p *provider) Revoke(ctx context.Context, id string, remove []dbaas.Source) error {
	return p.changeAccess(ctx, id, func(have []dbaas.Source) []dbaas.Source {
		return slices.DeleteFunc(have, func(s dbaas.Source) bool { return slices.Contains(remove, s) })
	}, func(have []dbaas.Source) bool {
		for _, s := range remove {
			if slices.Contains(have, s) {
				return false
			}
		}
		return true
	})
}

// changeAccess reads the ip-filter, writes change(filter) unless done
// already holds, and confirms by reading it again.
func (p *provider) changeAccess(ctx context.Context, id string, change func([]dbaas.Source) []dbaas.Source, done func([]dbaas.Source) bool) error {
	mu, _ := p.locks.LoadOrStore(id, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	s, err := p.get(ctx, id)
	if err != nil {
		return err
	}
	for range maxAccessRounds {
		have := sources(s.ipFilter)
		if done(have) {
			return nil
		}
		want := change(slices.Clone(have))
		filter := make([]string, len(want))
		for i, src := range want {
			filter[i] = src.Value
		}
		if err := p.writeFilter(ctx, s.typ, id, filter); err != nil {
			return err
		}
		if s, err = p.get(ctx, id); err != nil {
			return err
		}
	}
	return &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf("the ip-filter of %s kept changing under this write (%d rounds): another client writes it too", id, maxAccessRounds)}
}

// writeFilter replaces the ip-filter and follows the operation.
func (p *provider) writeFilter(ctx context.Context, typ, name string, filter []string) error {
	if len(filter) == 0 {
		ctx = context.WithValue(ctx, emptyFilterKey{}, true)
	}
	if typ == typePG {
		op, err := p.client.UpdateDBAASServicePG(ctx, name, v3.UpdateDBAASServicePGRequest{IPFilter: filter})
		return p.do(ctx, op, err)
	}
	op, err := p.client.UpdateDBAASServiceMysql(ctx, name, v3.UpdateDBAASServiceMysqlRequest{IPFilter: filter})
	return p.do(ctx, op, err)
}

type emptyFilterKey struct{}

// clearIPFilter is a request interceptor that sends "ip-filter": [] for
// an update whose context asks for an empty filter: egoscale's update
// requests leave an empty list out (omitempty), which would keep the old
// filter instead of emptying it. Interceptors run before egoscale signs
// the request, so the signature covers the body sent.
func clearIPFilter(ctx context.Context, req *http.Request) error {
	if empty, _ := ctx.Value(emptyFilterKey{}).(bool); !empty || req.Method != http.MethodPut || req.Body == nil {
		return nil
	}
	data, err := io.ReadAll(req.Body)
	if err != nil {
		return err
	}
	_ = req.Body.Close()
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		return err
	}
	body["ip-filter"] = []string{}
	if data, err = json.Marshal(body); err != nil {
		return err
	}
	req.Body = io.NopCloser(bytes.NewReader(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	req.ContentLength = int64(len(data))
	return nil
}
