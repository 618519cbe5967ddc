// Package simulators registers the cloud simulators (AWS, DigitalOcean,
// Linode, Vultr, Exoscale) that "dbaas sim" serves. Importing it links
// all of them; only dbaas-all and the command line's tests do.
package simulators

import (
	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/cli/simreg"
	"github.com/agiledeploy/dbaaskit/providers/aws/awssim"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
	"github.com/agiledeploy/dbaaskit/providers/exoscale/exoscalesim"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
	"github.com/agiledeploy/dbaaskit/providers/vultr/vultrsim"
)

func init() {
	simreg.Register([]simreg.Simulator{
		{
			Provider: "aws",
			Env: func(u, tok string) [][2]string {
				// The simulator accepts any secret key with the access key id
				// it was given.
				return [][2]string{{"AWS_ACCESS_KEY_ID", tok}, {"AWS_SECRET_ACCESS_KEY", "dbaas-sim-secret"},
					{"AWS_REGION", "us-east-1"}, {simreg.BaseURLEnv("aws"), u}}
			},
			Start: func(o simreg.Options) (simreg.Server, string, error) {
				s, u, err := awssim.Start(awssim.Options{ProvisionDelay: o.ProvisionDelay, Token: o.Token, Backend: o.Backend})
				if err != nil {
					return nil, "", err
				}
				return s, u, nil
			},
		},
		{
			Provider: "digitalocean",
			Env: func(u, tok string) [][2]string {
				return [][2]string{{"DIGITALOCEAN_TOKEN", tok}, {simreg.BaseURLEnv("digitalocean"), u}}
			},
			Port: func(dbaas.Engine) int { return digitalocean.Port },
			Start: func(o simreg.Options) (simreg.Server, string, error) {
				s, u, err := dosim.Start(dosim.Options{ProvisionDelay: o.ProvisionDelay, Token: o.Token, Backend: o.Backend})
				if err != nil {
					return nil, "", err
				}
				return s, u, nil
			},
		},
		{
			Provider: "linode",
			Env: func(u, tok string) [][2]string {
				return [][2]string{{"LINODE_TOKEN", tok}, {simreg.BaseURLEnv("linode"), u}}
			},
			Start: func(o simreg.Options) (simreg.Server, string, error) {
				s, u, err := linodesim.Start(linodesim.Options{ProvisionDelay: o.ProvisionDelay, Token: o.Token, Backend: o.Backend})
				if err != nil {
					return nil, "", err
				}
				return s, u, nil
			},
		},
		{
			Provider: "vultr",
			Env: func(u, tok string) [][2]string {
				return [][2]string{{"VULTR_API_KEY", tok}, {simreg.BaseURLEnv("vultr"), u}}
			},
			Start: func(o simreg.Options) (simreg.Server, string, error) {
				s, u, err := vultrsim.Start(vultrsim.Options{ProvisionDelay: o.ProvisionDelay, Token: o.Token, Backend: o.Backend,
					RateLimit: vultrsim.RateLimit30PerSecond})
				if err != nil {
					return nil, "", err
				}
				return s, u, nil
			},
		},
		{
			Provider: "exoscale",
			Env: func(u, tok string) [][2]string {
				// The simulator checks signatures made with this key and secret.
				return [][2]string{{"EXOSCALE_API_KEY", tok}, {"EXOSCALE_API_SECRET", exoscalesim.DefaultAPISecret}, {simreg.BaseURLEnv("exoscale"), u}}
			},
			Start: func(o simreg.Options) (simreg.Server, string, error) {
				s, u, err := exoscalesim.Start(exoscalesim.Options{ProvisionDelay: o.ProvisionDelay, APIKey: o.Token, Backend: o.Backend})
				if err != nil {
					return nil, "", err
				}
				return s, u, nil
			},
		},
	}...)
}
