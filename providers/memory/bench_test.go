package memory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/memory"
)

// BenchmarkGet measures Get against providers holding 1 and 10 000
// instances (some being deleted): a call must not cost more as the
// provider fills up.
func BenchmarkGet(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			ctx := context.Background()
			p := memory.New(memory.Options{DeleteDelay: 1 << 62})
			var id string
			for i := range n {
				inst, err := p.Create(ctx, dbaas.Spec{Name: fmt.Sprintf("db%d", i), Engine: dbaas.Postgres, Size: "small"})
				if err != nil {
					b.Fatal(err)
				}
				id = inst.ID
				if i%100 == 99 {
					if err := p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}); err != nil {
						b.Fatal(err)
					}
				}
			}
			for b.Loop() {
				if _, err := p.Get(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetParallel measures Get from every CPU at once on one
// provider, against BenchmarkGet/instances=1 as the serial baseline.
func BenchmarkGetParallel(b *testing.B) {
	ctx := context.Background()
	p := memory.New(memory.Options{})
	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"})
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Get(ctx, inst.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}
