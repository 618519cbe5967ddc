package memory_test

import (
	"context"
	"fmt"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/memory"
)

// Provision, wait, connect, back up and restore, with no cloud.
func Example() {
	ctx := context.Background()
	p, err := dbaas.Open(ctx, "memory", dbaas.Config{Settings: map[string]string{"provision_delay": "20ms"}})
	if err != nil {
		panic(err)
	}
	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"})
	if err != nil {
		panic(err)
	}
	fmt.Println(inst.Name, inst.Status)

	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{FirstDelay: 5 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	conn, err := p.Connection(ctx, inst.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(inst.Status, conn.Endpoint.Host, conn.Endpoint.Port, conn.User, conn.Password)

	b, err := p.Backup(ctx, inst.ID, "before-upgrade")
	if err != nil {
		panic(err)
	}
	copyInst, err := p.Restore(ctx, dbaas.FromBackup(b.ID), dbaas.Spec{Name: "shop-copy", Engine: dbaas.Postgres, Size: "small"})
	if err != nil {
		panic(err)
	}
	fmt.Println(copyInst.Name, copyInst.Status)
	// Output:
	// shop provisioning
	// available 127.0.0.1 5432 dbadmin [redacted]
	// shop-copy restoring
}

// The data store proves what a restore holds: here, a point-in-time
// restore to before a bad write.
func ExampleProvider_Put() {
	ctx := context.Background()
	p := memory.New(memory.Options{})
	inst, _ := p.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.MySQL, Size: "small"})
	_ = p.Put(ctx, inst.ID, "order 1")
	// References have whole seconds: move into the next second before
	// taking the point to restore, so that it comes after the good write.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	list, _ := p.Backups(ctx, inst.ID)
	good := list[len(list)-1].LatestRestore.Truncate(time.Second)
	_ = p.Put(ctx, inst.ID, "bad write")

	restored, err := p.Restore(ctx, dbaas.AtTime(inst.ID, good), dbaas.Spec{Name: "shop-fixed", Engine: dbaas.MySQL, Size: "small"})
	if err != nil {
		panic(err)
	}
	values, _ := p.Values(ctx, restored.ID)
	fmt.Println(values)
	// Output: [order 1]
}
