package dbaas_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	_ "github.com/agiledeploy/dbaaskit/providers/memory" // registers "memory"
)

// The examples run on the memory provider, which is registered like any
// cloud's: the same calls work on "digitalocean", "aws", "local", ….

func ExampleOpen() {
	ctx := context.Background()
	caps, _ := dbaas.CapabilitiesOf("memory") // no credentials needed
	fmt.Println("on-demand backups:", caps.OnDemandBackup)

	p, err := dbaas.Open(ctx, "memory", dbaas.Config{Region: "local"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	_, err = dbaas.Open(ctx, "memory", dbaas.Config{Settings: map[string]string{"provision_dealy": "1s"}})
	fmt.Println(err)
	_, err = dbaas.Open(ctx, "nimbus", dbaas.Config{})
	fmt.Println(errors.Is(err, dbaas.ErrInvalidArgument))
	// Output:
	// on-demand backups: true
	// open memory: invalid argument: settings.provision_dealy: is unknown: known settings are provision_delay, backup_delay, delete_delay
	// true
}

func ExampleEnsure() {
	ctx := context.Background()
	p, _ := dbaas.Open(ctx, "memory", dbaas.Config{})
	defer p.Close()
	spec := dbaas.Spec{Name: "shop-db", Engine: dbaas.Postgres, Size: "small"}
	inst, created, _ := dbaas.Ensure(ctx, p, spec)
	fmt.Println(inst.Name, created)
	inst, created, _ = dbaas.Ensure(ctx, p, spec) // the same name is reused
	fmt.Println(inst.Name, created)
	spec.Engine = dbaas.MySQL
	_, _, err := dbaas.Ensure(ctx, p, spec) // never silently another engine
	fmt.Println(errors.Is(err, dbaas.ErrConflict))
	// Output:
	// shop-db true
	// shop-db false
	// true
}

func ExampleWait() {
	ctx := context.Background()
	p, _ := dbaas.Open(ctx, "memory", dbaas.Config{Settings: map[string]string{"provision_delay": "30ms"}})
	defer p.Close()
	inst, _ := p.Create(ctx, dbaas.Spec{Name: "shop-db", Engine: dbaas.MySQL, Size: "small"})
	fmt.Println(inst.Status)
	inst, err := dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{Timeout: time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(inst.Status, inst.Endpoint.Port)
	fmt.Println(dbaas.CheckPort(inst, 3306))
	// Output:
	// provisioning
	// available 3306
	// <nil>
}

func ExampleWaitBackup() {
	ctx := context.Background()
	p, _ := dbaas.Open(ctx, "memory", dbaas.Config{Settings: map[string]string{"backup_delay": "30ms"}})
	defer p.Close()
	inst, _ := p.Create(ctx, dbaas.Spec{Name: "shop-db", Engine: dbaas.Postgres, Size: "small"})
	b, _ := p.Backup(ctx, inst.ID, "before-upgrade")
	fmt.Println(b.Status)
	b, err := dbaas.WaitBackup(ctx, p, inst.ID, b.ID, dbaas.WaitBackupOptions{FirstDelay: 10 * time.Millisecond, Timeout: time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.Status)
	copied, _ := p.Restore(ctx, dbaas.FromBackup(b.ID), dbaas.Spec{Name: "shop-copy", Engine: dbaas.Postgres, Size: "small"})
	fmt.Println(copied.Name)
	// Output:
	// creating
	// available
	// shop-copy
}

func ExampleSyncAccess() {
	ctx := context.Background()
	p, _ := dbaas.Open(ctx, "memory", dbaas.Config{})
	defer p.Close()
	inst, _ := p.Create(ctx, dbaas.Spec{Name: "shop-db", Engine: dbaas.Postgres, Size: "small",
		Access: []dbaas.Source{dbaas.MustParseSource("203.0.113.10")}})
	// Every minute, from cron: exactly the live web servers.
	web, _ := dbaas.ParseSources("203.0.113.11", "203.0.113.12")
	change, _ := dbaas.SyncAccess(ctx, p, inst.ID, web)
	fmt.Println("added:", change.Added)
	fmt.Println("removed:", change.Removed)
	change, _ = dbaas.SyncAccess(ctx, p, inst.ID, web)
	fmt.Println("again:", change.Empty())
	_, err := dbaas.SyncAccess(ctx, p, inst.ID, []dbaas.Source{dbaas.MustParseSource("0.0.0.0/0")})
	fmt.Println(errors.Is(err, dbaas.ErrInvalidArgument))
	// Output:
	// added: [cidr:203.0.113.11/32 cidr:203.0.113.12/32]
	// removed: [cidr:203.0.113.10/32]
	// again: true
	// true
}

func ExampleConnectionInfo_PostgresURL() {
	conn := &dbaas.ConnectionInfo{Engine: dbaas.Postgres, Endpoint: dbaas.Endpoint{Host: "db.example.com", Port: 25060},
		User: "shop", Password: dbaas.NewSecret("s3cret"), Database: "shop", TLS: dbaas.TLSVerifyFull}
	url, _ := conn.PostgresURL(dbaas.DSNOptions{CAFile: "/etc/shop/ca.pem"})
	fmt.Println(url)
	fmt.Println(conn.Endpoint.Host) // never with the port
	// Output:
	// postgres://shop:s3cret@db.example.com:25060/shop?connect_timeout=10&sslmode=verify-full&sslrootcert=%2Fetc%2Fshop%2Fca.pem
	// db.example.com
}

// callCounter is an Observer that counts calls by operation and outcome,
// the shape of a Prometheus counter vector (provider, op, kind) or an
// OpenTelemetry span per call (start one in Begin, end it in End).
type callCounter struct {
	mu    sync.Mutex
	count map[string]int
}

func (c *callCounter) Begin(ctx context.Context, _ dbaas.Call) context.Context { return ctx }

func (c *callCounter) End(_ context.Context, call dbaas.Call, _ time.Duration, err error) {
	kind := "ok"
	if k := dbaas.Kind(err); k != nil {
		kind = k.Error()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count[call.Provider+" "+call.Op+" "+kind]++
}

func ExampleObserver() {
	ctx := context.Background()
	counter := &callCounter{count: map[string]int{}}
	p, _ := dbaas.Open(ctx, "memory", dbaas.Config{Observer: counter})
	defer p.Close()
	inst, _ := p.Create(ctx, dbaas.Spec{Name: "shop-db", Engine: dbaas.Postgres, Size: "small"})
	_, _ = p.Get(ctx, inst.ID)
	_, _ = p.Get(ctx, "mem-999999")
	_, _ = p.Get(ctx, "") // refused before the provider: not a call

	keys := make([]string, 0, len(counter.count))
	for k := range counter.count {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Println(k, counter.count[k])
	}
	// Output:
	// memory create ok 1
	// memory get not found 1
	// memory get ok 1
}
