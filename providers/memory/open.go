package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
)

// The settings dbaas.Open("memory", cfg) reads from cfg.Settings, each a
// Go duration such as "50ms" or "2m".
const (
	SettingProvisionDelay = "provision_delay"
	SettingBackupDelay    = "backup_delay"
	SettingDeleteDelay    = "delete_delay"
)

// info is the memory provider's registration.
var info = driver.Info{
	Capabilities: capabilities,
	Settings:     []string{SettingProvisionDelay, SettingBackupDelay, SettingDeleteDelay},
	Open: func(ctx context.Context, cfg dbaas.Config) (driver.Driver, error) {
		opts, err := options(cfg)
		if err != nil {
			return nil, err
		}
		return newStore(opts), nil
	},
}

func init() { driver.Register(Name, info) }

// options reads a Config; every Open makes a fresh, empty store: memory instances live
// as long as the provider value. cfg.Region is the default region; token,
// base URL and HTTP client mean nothing here and are not read.
func options(cfg dbaas.Config) (Options, error) {
	if cfg.Region != "" {
		// The spec's rules for a region apply to the default one too.
		probe := dbaas.Spec{Name: "probe", Engine: dbaas.Postgres, Size: "probe", Region: cfg.Region}
		if err := probe.Validate(); err != nil {
			return Options{}, dbaas.InvalidField("region", fmt.Sprintf("%q: must be letters, digits, dots, underscores and hyphens", truncate(cfg.Region, 32)))
		}
	}
	opts := Options{Region: cfg.Region, Observer: cfg.Observer}
	for key, dst := range map[string]*time.Duration{
		SettingProvisionDelay: &opts.ProvisionDelay,
		SettingBackupDelay:    &opts.BackupDelay,
		SettingDeleteDelay:    &opts.DeleteDelay,
	} {
		v, ok := cfg.Settings[key]
		if !ok {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return Options{}, dbaas.InvalidField("settings."+key, fmt.Sprintf("%q is not a non-negative Go duration such as 50ms or 2m", truncate(v, 32)))
		}
		*dst = d
	}
	return opts, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
