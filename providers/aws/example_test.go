package aws_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/agiledeploy/dbaaskit/dbaas"
	awsp "github.com/agiledeploy/dbaaskit/providers/aws"
	"github.com/agiledeploy/dbaaskit/providers/aws/awssim"
)

// Example creates a PostgreSQL instance on a simulator, waits for it and
// opens its port to a network. Against AWS, leave BaseEndpoint and
// Credentials out: the default chain supplies them.
func Example() {
	sim, url, err := awssim.Start(awssim.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()
	p, err := awsp.New(ctx, awsp.Options{
		Region:       "us-east-1",
		BaseEndpoint: url,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	inst, err := p.Create(ctx, dbaas.Spec{
		Name:   "shop",
		Engine: dbaas.Postgres,
		Size:   "db.t3.micro",
		Access: []dbaas.Source{dbaas.CIDR("10.0.0.0/16")},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inst.Status)
	// The simulator is quick; against RDS the defaults suit.
	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{Expected: -1, FirstDelay: 10 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inst.Status, inst.Endpoint.Port)
	access, err := p.Access(ctx, inst.ID)
	if err != nil {
		log.Fatal(err)
	}
	// The instance's access list holds its own sources and the security
	// group of the toolkit's web servers (AgileDeploymentToolkitSecurityGroup),
	// whose id is what to launch web servers in.
	for _, s := range access {
		if s.Kind == dbaas.SourceSecurityGroup {
			fmt.Println("web servers:", s.Kind, strings.HasPrefix(s.Value, "sg-"))
			continue
		}
		fmt.Println(s)
	}
	// Output:
	// provisioning
	// available 5432
	// cidr:10.0.0.0/16
	// web servers: sg true
}

// Example_open opens the provider by name with the settings a shell
// toolkit would pass.
func Example_open() {
	p, err := dbaas.Open(context.Background(), "aws", dbaas.Config{
		Region: "eu-west-1",
		Settings: map[string]string{
			"access_key_id":       "AKIDEXAMPLE",
			"secret_access_key":   "secret",
			"vpc_id":              "vpc-0abc",
			"security_group_name": "AgileDeploymentToolkitSecurityGroup",
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	caps := p.Capabilities()
	fmt.Println(caps.SourceKinds, caps.FinalBackup, caps.TypicalProvisioning)
	// Output: [cidr sg] true 12m0s
}
