package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/toolkit"
)

// specFlags are the flags that mirror dbaas.Spec, shared by create, ensure
// and restore.
type specFlags struct {
	engine, version, size   string
	nodes, storageGB, port  int
	adminUser, passwordFile string
	database                string
	access                  []string
	allowWorld              bool
	privateNetwork, subnet  string
	public                  bool
	retention               int
	deletionProtection      bool
	tags, options           []string
	fromToolkit             string
	fromToolkitFile         string
}

func (f *specFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.engine, "engine", "", "postgres, mysql or mariadb (required unless --from-toolkit)")
	fs.StringVar(&f.version, "version", "", "engine version, such as 16 or 8.0; the provider's default when empty")
	fs.StringVar(&f.size, "size", "", "the provider's size, class or plan, such as db-s-1vcpu-1gb, db.t3.micro or g6-nanode-1")
	fs.IntVar(&f.nodes, "nodes", 0, "number of nodes, 1 to 3; 0 means 1")
	fs.IntVar(&f.storageGB, "storage-gb", 0, "allocated storage in GB, 20 to 65536; 0 means the provider's default")
	fs.IntVar(&f.port, "port", 0, "port to listen on, where the provider lets it be chosen")
	fs.StringVar(&f.adminUser, "admin-user", "", "administrator's name; the provider's default when empty")
	fs.StringVar(&f.passwordFile, "admin-password-file", "", "file holding the administrator's password ('-' reads stdin; env DBAAS_ADMIN_PASSWORD); generated when absent")
	fs.StringVar(&f.database, "database", "", "database to create")
	fs.StringArrayVar(&f.access, "allow", nil, "source allowed in at creation, such as 10.0.0.0/16 or sg:sg-0abc (repeatable)")
	fs.BoolVar(&f.allowWorld, "allow-world", false, "let --allow open the database to 0.0.0.0/0 or ::/0")
	fs.StringVar(&f.privateNetwork, "private-network", "", "VPC or private network to place the instance in")
	fs.StringVar(&f.subnet, "subnet", "", "subnet or subnet group inside --private-network")
	fs.BoolVar(&f.public, "public", false, "give the instance a public endpoint where the cloud makes that a choice")
	fs.IntVar(&f.retention, "backup-retention-days", 0, "keep automated backups this many days, 0 to 35")
	fs.BoolVar(&f.deletionProtection, "deletion-protection", false, "ask the cloud to refuse deletes until turned off")
	fs.StringArrayVar(&f.tags, "tag", nil, "tag key=value (repeatable)")
	fs.StringArrayVar(&f.options, "option", nil, "provider-specific option key=value (repeatable)")
	fs.StringVar(&f.fromToolkit, "from-toolkit", "", "start from a toolkit DATABASE_DBaaS_INSTALLATION_TYPE string without a password; other flags override its fields")
	fs.StringVar(&f.fromToolkitFile, "from-toolkit-file", "", "as --from-toolkit, the line read from a file ('-' reads stdin): for a line with a password")
}

// spec builds the spec from the flags (and the toolkit string, whose
// fields the flags that were set override). name, when not empty, is the
// instance name from the command line. Malformed input is a usage error;
// the spec's own rules are checked by the caller.
//
// partial leaves engine and size unchecked, for restore --from, which
// takes them from the source instance.
func (f *specFlags) spec(a *app, cmd *cobra.Command, name string, partial bool) (dbaas.Spec, error) {
	var s dbaas.Spec
	line, flag := f.fromToolkit, "--from-toolkit"
	if f.fromToolkitFile != "" {
		if line != "" {
			return s, usageErrorf("--from-toolkit and --from-toolkit-file: give one")
		}
		b, err := readFileOrStdin(a, f.fromToolkitFile, 4096)
		if err != nil {
			return s, usageErrorf("--from-toolkit-file: %v", err)
		}
		line, flag = strings.TrimSpace(string(b)), "--from-toolkit-file"
	}
	if line != "" {
		cfg, err := toolkit.Parse(line, a.provider)
		switch {
		case errors.Is(err, dbaas.ErrUnsupported):
			return s, err
		case err != nil:
			return s, usageErrorf("%s: %v", flag, err)
		case flag == "--from-toolkit" && (!cfg.AppPassword.IsZero() || !cfg.Spec.AdminPassword.IsZero()):
			return s, usageErrorf("--from-toolkit: the line holds a password, which the process list shows: give it with --from-toolkit-file FILE (or - for stdin)")
		}
		s = cfg.Spec
		if cfg.AppDatabase != "" || cfg.AppUser != "" {
			a.note("--from-toolkit: %s clusters come with their own administrator and database; the toolkit's database %q and user %q are not part of the cluster's creation",
				cfg.Provider, cfg.AppDatabase, cfg.AppUser)
		}
	}
	changed := cmd.Flags().Changed
	if name != "" {
		s.Name = name
	}
	if changed("engine") || (s.Engine == "" && !partial) {
		if f.engine == "" {
			return s, usageErrorf("%s: --engine is required: want postgres, mysql or mariadb", cmd.Name())
		}
		e, err := dbaas.ParseEngine(f.engine)
		if err != nil {
			return s, usageErrorf("--engine %q: want postgres, mysql or mariadb", clip(f.engine))
		}
		s.Engine = e
	}
	str := func(flag string, dst *string, v string) {
		if changed(flag) {
			*dst = v
		}
	}
	num := func(flag string, dst *int, v int) {
		if changed(flag) {
			*dst = v
		}
	}
	str("version", &s.Version, f.version)
	str("size", &s.Size, f.size)
	if s.Region == "" || changed("region") {
		// The global --region is where this command works, so it is
		// also where a new instance goes.
		s.Region = a.region
	}
	num("nodes", &s.Nodes, f.nodes)
	num("storage-gb", &s.StorageGB, f.storageGB)
	num("port", &s.Port, f.port)
	str("admin-user", &s.AdminUser, f.adminUser)
	str("database", &s.Database, f.database)
	str("private-network", &s.PrivateNetwork, f.privateNetwork)
	str("subnet", &s.Subnet, f.subnet)
	num("backup-retention-days", &s.BackupRetentionDays, f.retention)
	s.PublicAccess = s.PublicAccess || f.public
	s.DeletionProtection = s.DeletionProtection || f.deletionProtection
	s.AllowWorld = f.allowWorld
	if f.passwordFile != "" {
		pw, err := readSecretFile(a, f.passwordFile)
		if err != nil {
			return s, usageErrorf("--admin-password-file: %v", err)
		}
		s.AdminPassword = pw
	} else if v := a.getenv("DBAAS_ADMIN_PASSWORD"); v != "" && s.AdminPassword.IsZero() {
		s.AdminPassword = dbaas.NewSecret(v)
	}
	if len(f.access) > 0 {
		srcs, err := dbaas.ParseSources(f.access...)
		if err != nil {
			return s, usageErrorf("--allow: %v", err)
		}
		s.Access = srcs
	}
	var err error
	if s.Tags, err = keyValues("--tag", f.tags, s.Tags); err != nil {
		return s, err
	}
	if s.Options, err = keyValues("--option", f.options, s.Options); err != nil {
		return s, err
	}
	if s.Name == "" {
		return s, usageErrorf("%s: missing NAME: usage: %s", cmd.Name(), cmd.UseLine())
	}
	if s.Size == "" && !partial {
		return s, usageErrorf("%s: --size is required: the provider's size, class or plan (see the provider's documentation)", cmd.Name())
	}
	return s, nil
}

// readSecretFile reads a one-line secret from a file, or from stdin for
// "-".
func readSecretFile(a *app, path string) (dbaas.Secret, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = readAllLimited(a.stdin, 4096)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return dbaas.Secret{}, err
	}
	return dbaas.NewSecret(strings.TrimRight(string(b), "\r\n")), nil
}

// readAllLimited reads r to the end, refusing more than limit bytes.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("input is longer than %d bytes", limit)
	}
	return b, nil
}

func keyValues(flag string, in []string, into map[string]string) (map[string]string, error) {
	if len(in) == 0 {
		return into, nil
	}
	if into == nil {
		into = make(map[string]string, len(in))
	}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErrorf("%s %q: want key=value", flag, clip(kv))
		}
		into[k] = v
	}
	return into, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
