package memory

import (
	"context"
	"fmt"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// MaxValueLen bounds one value of the data store.
const MaxValueLen = 4096

// put is Put.
// rows of a real database, so that tests can prove what a backup or a
// restore holds. The instance must be serving (available or backing-up).
// Put is data, not API: Calls does not count it.
func (p *store) put(ctx context.Context, id, value string) error {
	if err := requireID(id); err != nil {
		return err
	}
	if len(value) > MaxValueLen {
		return newErr(nil, dbaas.InvalidField("value", fmt.Sprintf("must be at most %d bytes", MaxValueLen)))
	}
	if err := ctx.Err(); err != nil {
		return newErr(nil, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	in, err := p.lookupLocked("put", id, now)
	if err != nil {
		return err
	}
	if st := in.status(now); !st.Usable() {
		return conflict("put", id, st, "it does not accept connections")
	}
	in.data = append(in.data, entry{value: value, at: now})
	return nil
}

// Values returns the values of the instance's data store, in the order
// they were written. The instance must be serving.
func (p *store) values(ctx context.Context, id string) ([]string, error) {
	if err := requireID(id); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, newErr(nil, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	in, err := p.lookupLocked("values", id, now)
	if err != nil {
		return nil, err
	}
	if st := in.status(now); !st.Usable() {
		return nil, conflict("values", id, st, "it does not accept connections")
	}
	out := make([]string, len(in.data))
	for i, e := range in.data {
		out[i] = e.value
	}
	return out, nil
}

// InstanceFor returns the id of the instance a ConnectionInfo from this
// provider points at (every instance has a host of its own), so that code
// given only connection details, like dbaastest.Harness.WriteData, can
// reach its data store.
func (p *store) instanceFor(conn *dbaas.ConnectionInfo) (string, error) {
	if conn == nil {
		return "", newErr(nil, dbaas.InvalidField("conn", "is nil"))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweepLocked(p.now())
	for _, e := range []dbaas.Endpoint{conn.Endpoint, conn.PrivateEndpoint} {
		if id, ok := p.byHost[e.Host]; ok && e.Host != "" {
			return id, nil
		}
	}
	return "", newErr(dbaas.ErrNotFound, fmt.Errorf("no instance at endpoint %s", conn.Endpoint))
}
