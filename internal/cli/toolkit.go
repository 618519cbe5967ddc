package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/toolkit"
)

// lineEnv is the toolkit's own variable for its line.
const lineEnv = "DATABASE_DBaaS_INSTALLATION_TYPE"

func (a *app) toolkitCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "toolkit",
		Short:   "The deployment toolkit's DBaaS step",
		GroupID: "instances",
	}
	cmd.AddCommand(a.toolkitApplyCommand())
	return cmd
}

// applyResult is the JSON of toolkit apply: toolkit.Result with the
// password file instead of the password.
type applyResult struct {
	*toolkit.Result
	PasswordFile string `json:"password_file,omitempty"`
}

func (a *app) toolkitApplyCommand() *cobra.Command {
	var port int
	var webFile, passwordFile, caDir string
	var keep []string
	var worldOK bool
	cmd := &cobra.Command{
		Use:   "apply [LINE|-] --port N --web-servers FILE|- --password-file PATH",
		Short: "Provision, wait, check the port, make the app's database and user, open access: one step",
		Long: `toolkit apply runs the toolkit's whole DBaaS step for a
DATABASE_DBaaS_INSTALLATION_TYPE line: reuse or create the instance, wait
until it is available, check that it listens on --port (DB_PORT) before
changing anything else (exit code 6 otherwise), make the application's
database and user with the least privilege the engine allows, make the
access list exactly the web servers (and --keep sources), and print what
the toolkit configures as lines a shell can source:

  DB_HOST=…  DB_PORT=…  DB_NAME=…  DB_USER=…  DB_PASSWORD_FILE=…  DB_CA_FILE=…

The line names the provider (digitalocean, linode, aws, vultr, exoscale,
or local for the servers on this machine); --provider is ignored unless
the line fits more than one form. The line comes from a file or stdin
("-") or the environment (` + lineEnv + `): a line with a password is
refused as an argument, since the process list shows arguments. The
password goes only to --password-file (mode 0600), never to stdout; when
the line has none, the password file of an earlier run is read back.
Running it again changes nothing.`,
		Example: `  echo "$DATABASE_DBaaS_INSTALLATION_TYPE" | dbaas toolkit apply - --port "$DB_PORT" \
      --web-servers webservers.txt --password-file /etc/app/db.password > db.env || exit
  . ./db.env`,
		Args: args(0, 1, "LINE|-"),
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			line, err := a.toolkitLine(args)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("port") || port < 1 || port > 65535 {
				return usageErrorf("toolkit apply: --port N (the configured DB_PORT, 1 to 65535) is required")
			}
			if passwordFile == "" {
				return usageErrorf("toolkit apply: --password-file PATH is required: the password is written there (mode 0600), never to stdout")
			}
			web, err := a.readSources(webFile, worldOK)
			if err != nil {
				return err
			}
			kept, err := parseSourceArgs(keep, worldOK)
			if err != nil {
				return err
			}
			cloud := ""
			if cmd.Flags().Changed("provider") || a.getenv("DBAAS_PROVIDER") != "" {
				cloud = a.provider
			}
			parsed, err := toolkit.Parse(line, cloud)
			switch {
			case errors.Is(err, dbaas.ErrUnsupported):
				return err
			case err != nil && len(args) == 1 && args[0] != "-" && isFile(args[0]):
				return usageErrorf("toolkit line: %q is a file, not a line: give its line on stdin (dbaas toolkit apply - < %s)", clip(args[0]), clip(args[0]))
			case err != nil:
				return usageErrorf("toolkit line: %v", err)
			}
			a.provider = parsed.Provider
			p, err := a.openProvider(ctx)
			if err != nil {
				return err
			}
			opts := toolkit.Options{Cloud: parsed.Provider, Port: port, WebServers: web, Keep: kept,
				Provider: p, CADir: caDir, Wait: a.waitOptions(waitFlags{})}
			if prev, err := os.ReadFile(passwordFile); err == nil {
				opts.AppPassword = dbaas.NewSecret(strings.TrimRight(string(prev), "\r\n"))
			}
			prog := a.progress("waiting for the database")
			opts.Wait.Progress = prog.update
			res, err := toolkit.Apply(ctx, line, opts)
			prog.done()
			if err != nil {
				return err
			}
			out := applyResult{Result: res}
			if !res.Password.IsZero() {
				if err := writeSecretFile(passwordFile, res.Password); err != nil {
					return err
				}
				out.PasswordFile = passwordFile
			}
			if res.Created {
				a.note("created %s (%s)", parsed.Spec.Name, res.InstanceID)
			}
			return a.emit(out, func(w io.Writer) error {
				for _, kv := range [][2]string{{"DB_HOST", res.Host}, {"DB_PORT", fmt.Sprint(res.Port)},
					{"DB_NAME", res.Database}, {"DB_USER", res.User}, {"DB_PASSWORD_FILE", out.PasswordFile},
					{"DB_CA_FILE", res.CAFile}, {"DB_TLS", string(res.TLS)}} {
					fmt.Fprintf(w, "%s=%s\n", kv[0], shellQuote(kv[1]))
				}
				return nil
			})
		}),
	}
	fl := cmd.Flags()
	fl.IntVar(&port, "port", 0, "the configured database port, DB_PORT (required)")
	fl.StringVar(&webFile, "web-servers", "", "file listing the web servers' addresses, one or more per line ('-' reads stdin)")
	fl.StringArrayVar(&keep, "keep", nil, "source always allowed besides the web servers, such as the VPC range (repeatable)")
	fl.BoolVar(&worldOK, "allow-world", false, "accept 0.0.0.0/0 or ::/0 among the sources")
	fl.StringVar(&passwordFile, "password-file", "", "file the application user's password is written to, mode 0600 (required)")
	fl.StringVar(&caDir, "ca-dir", "", "directory for the CA certificate file (default the system's temporary directory)")
	return cmd
}

// toolkitLine reads the line from the argument, stdin ("-") or the
// environment, refusing one with a password as an argument.
func (a *app) toolkitLine(args []string) (string, error) {
	switch {
	case len(args) == 1 && args[0] == "-":
		b, err := readAllLimited(a.stdin, 4096)
		if err != nil {
			return "", usageErrorf("toolkit line on stdin: %v", err)
		}
		return strings.TrimSpace(string(b)), nil
	case len(args) == 1:
		if cfg, err := toolkit.Parse(args[0], ""); err == nil && (!cfg.AppPassword.IsZero() || !cfg.Spec.AdminPassword.IsZero()) {
			return "", usageErrorf("toolkit line: it holds a password, which the process list shows when given as an argument: pipe it on stdin (-) or set %s", lineEnv)
		}
		return args[0], nil
	}
	if v := a.getenv(lineEnv); v != "" {
		return v, nil
	}
	return "", usageErrorf("toolkit apply: no line: give LINE, - for stdin, or set %s", lineEnv)
}

// isFile reports whether name is a regular file.
func isFile(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

// readSources reads the sources of a file (or stdin for "-"), naming the
// line of a bad one.
func (a *app) readSources(path string, worldOK bool) ([]dbaas.Source, error) {
	if path == "" {
		return nil, nil
	}
	b, err := readFileOrStdin(a, path, 1<<20)
	if err != nil {
		return nil, usageErrorf("--web-servers: %v", err)
	}
	var out []dbaas.Source
	for i, line := range strings.Split(string(b), "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		for _, field := range strings.Fields(line) {
			src, err := dbaas.ParseSource(field)
			if err != nil {
				return nil, usageErrorf("--web-servers %s: line %d: %v", path, i+1, err)
			}
			if src.IsWorld() && !worldOK {
				return nil, usageErrorf("--web-servers %s: line %d: %s opens the database to the whole internet: add --allow-world to mean it", path, i+1, clip(field))
			}
			out = append(out, src)
		}
	}
	return out, nil
}

// shellQuote quotes s for a POSIX shell's source.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
