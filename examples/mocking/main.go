package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/memory"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mocking:", err)
		os.Exit(1)
	}
}

// run deploys against the in-memory provider, the way Deploy runs in
// production against a real one; deploy_test.go tests Deploy with
// dbaastest.MockProvider instead.
func run(ctx context.Context, out io.Writer) error {
	p := memory.New(memory.Options{})
	addr, err := Deploy(ctx, p, Deployment{
		Spec:       dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"},
		WebServers: []dbaas.Source{dbaas.MustParseSource("10.0.0.5"), dbaas.MustParseSource("10.0.0.6")},
		Wait:       defaultWait,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "database at", addr)
	return nil
}
