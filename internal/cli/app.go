package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/buildinfo"
)

// registered holds the constructors of commands defined in other files of
// this package (such as "dump"); see registerCommand.
var registered []func() *cobra.Command

// registerCommand adds a top-level command. Call it from an init function
// in another file of package main; f runs once per invocation so that the
// command holds no state between runs (tests call run many times).
//
// The command's RunE should write results to cmd.OutOrStdout(), read
// input from cmd.InOrStdin() and return errors rather than print them: run
// prints one line "dbaas: <error>" and exits with the code exitCode gives
// (usageErrorf for bad input, withExitCode to choose one). The global
// flags are readable with cmd.Flags().GetString("output") and
// cmd.Flags().GetBool("quiet"). The command must not set its own
// PersistentPreRun(E), which would replace the root's flag checks.
func registerCommand(f func() *cobra.Command) { registered = append(registered, f) }

// app is one invocation of the command: its streams, its environment and
// its global flags. Tests build one with test doubles for the terminal
// check and the provider opener.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// isTerminal reports whether a stream (stdin, stdout or stderr) is a
	// terminal: it decides on the confirmation prompt and progress line.
	isTerminal func(stream any) bool
	// open opens a provider; dbaas.Open outside tests.
	open         func(ctx context.Context, name string, cfg dbaas.Config) (dbaas.Provider, error)
	settingsFile string
	// capsOf reads a provider's registered capabilities (dbaas.CapabilitiesOf).
	capsOf func(name string) (dbaas.Capabilities, error)
	// providers lists the names --provider accepts; dbaas.Providers.
	providers func() []string
	clock     dbaas.Clock

	// Global flags.
	provider  string
	tokenFile string
	region    string
	baseURL   string
	settings  []string
	output    string
	quiet     bool
	timeout   time.Duration

	// closers are the opened providers that hold resources.
	closers []io.Closer

	// started is set when a command's own code begins: an error before
	// that is cobra's (unknown command, bad flag, wrong arguments).
	started bool
}

// run is the whole program: it parses args, runs the command and returns
// the exit code. main calls it with the process's streams; tests call it
// in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newApp(stdin, stdout, stderr).run(ctx, args)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{
		stdin: stdin, stdout: stdout, stderr: stderr,
		getenv:     os.Getenv,
		isTerminal: isTerminal,
		open:       dbaas.Open,
		capsOf:     dbaas.CapabilitiesOf,
		providers:  dbaas.Providers,
		clock:      dbaas.SystemClock{},
	}
}

// isTerminal reports whether stream is an *os.File on a terminal.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) run(ctx context.Context, args []string) int {
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	for _, c := range a.closers {
		_ = c.Close()
	}
	if err != nil && (!a.started || strings.HasPrefix(err.Error(), "required flag(s)")) {
		var ue *usageError
		if !errors.As(err, &ue) {
			err = &usageError{msg: oneLine(err.Error()) + ": see 'dbaas --help'"}
		}
	}
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	a.printError(err, code)
	return code
}

// printError writes err on one line: plain text, or a JSON object with
// --output json so that programs can read it too.
func (a *app) printError(err error, code int) {
	msg := oneLine(err.Error())
	if a.output == "json" {
		b, _ := json.Marshal(struct {
			Error string `json:"error"`
			Kind  string `json:"kind"`
			Code  int    `json:"exit_code"`
		}{msg, exitKind(code), code})
		fmt.Fprintf(a.stderr, "%s\n", b)
		return
	}
	fmt.Fprintf(a.stderr, "dbaas: %s\n", msg)
}

func (a *app) env(key, def string) string {
	if v := a.getenv(key); v != "" {
		return v
	}
	return def
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "dbaas",
		Short: "Managed databases on any cloud, for shell toolkits and for people",
		Long: `dbaas provisions, waits for, connects to, opens access to and backs up
managed databases (PostgreSQL, MySQL, MariaDB) on AWS RDS, DigitalOcean,
Linode, Vultr, Exoscale or this machine ("local"), through one set of
commands.

Scripts get plain values on stdout ("dbaas endpoint shop" prints the host
alone), programs get stable JSON with --output json, and people get tables
and a progress line. Errors are one line on stderr and the exit code says
what went wrong: see "dbaas help exit-codes".

Provider settings come from flags or the environment: DBAAS_PROVIDER,
DBAAS_REGION, DBAAS_BASE_URL, DBAAS_TOKEN_FILE, and the clouds' own
DIGITALOCEAN_TOKEN, LINODE_TOKEN, VULTR_API_KEY, EXOSCALE_API_KEY and
EXOSCALE_API_SECRET, and the AWS credential chain.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		Version:           buildinfo.String(),
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if a.output != "text" && a.output != "json" {
				return usageErrorf("--output %q: want text or json", clip(a.output))
			}
			if a.timeout < 0 {
				return usageErrorf("--timeout %s: want 0 (no bound) or more", a.timeout)
			}
			// Flags and arguments have passed cobra's checks: from here
			// an error is the command's own.
			a.started = true
			return nil
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageErrorf("%s: usage: %s", oneLine(err.Error()), cmd.UseLine())
	})
	pf := root.PersistentFlags()
	pf.StringVarP(&a.provider, "provider", "p", a.env("DBAAS_PROVIDER", "local"), "provider to use (env DBAAS_PROVIDER); see 'dbaas providers'")
	pf.StringVar(&a.region, "region", a.env("DBAAS_REGION", ""), "region to work in (env DBAAS_REGION); the provider's default when empty")
	pf.StringVar(&a.baseURL, "base-url", a.env("DBAAS_BASE_URL", ""), "API base URL, to reach a simulator (env DBAAS_BASE_URL, or DBAAS_BASE_URL_<PROVIDER> as 'dbaas sim' prints)")
	pf.StringVar(&a.tokenFile, "token-file", a.env("DBAAS_TOKEN_FILE", ""), "file holding the API token (env DBAAS_TOKEN_FILE); default the cloud's own variable, such as DIGITALOCEAN_TOKEN")
	pf.StringArrayVar(&a.settings, "set", nil, "provider setting key=value (repeatable); see the provider's documentation. Secrets (passwords, secret keys) go in --settings-file")
	pf.StringVar(&a.settingsFile, "settings-file", a.env("DBAAS_SETTINGS_FILE", ""), "file of provider settings, key=value per line, for secrets such as secret_access_key ('-' reads stdin; env DBAAS_SETTINGS_FILE)")
	pf.StringVarP(&a.output, "output", "o", a.env("DBAAS_OUTPUT", "text"), "output format: text or json (env DBAAS_OUTPUT)")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "print only the result: no notes, no progress")
	pf.DurationVar(&a.timeout, "timeout", 0, "bound the whole command, waits included (for example 20m); 0 means waits give up after 30m")

	root.AddGroup(&cobra.Group{ID: "instances", Title: "Instances:"},
		&cobra.Group{ID: "connect", Title: "Connecting:"},
		&cobra.Group{ID: "access", Title: "Network access:"},
		&cobra.Group{ID: "backups", Title: "Backups:"},
		&cobra.Group{ID: "tools", Title: "Tools:"})
	for _, c := range a.commands() {
		root.AddCommand(c)
	}
	for _, f := range registered {
		c := f()
		if c.GroupID == "" {
			c.GroupID = "tools"
		}
		root.AddCommand(c)
	}
	root.AddCommand(&cobra.Command{
		Use:   "exit-codes",
		Short: "What each exit code of dbaas means",
		Long:  exitCodesHelp,
	})
	return root
}

// commands lists the commands this file's siblings define.
func (a *app) commands() []*cobra.Command {
	return []*cobra.Command{
		a.providersCommand(), a.versionCommand(),
		a.createCommand(), a.ensureCommand(), a.getCommand(), a.listCommand(), a.waitCommand(), a.deleteCommand(),
		a.endpointCommand(), a.portCommand(), a.connectionCommand(), a.checkPortCommand(),
		a.allowCommand(), a.revokeCommand(), a.accessCommand(), a.syncAccessCommand(),
		a.backupCommand(), a.backupsCommand(), a.restoreCommand(),
		a.tunnelCommand(), a.simCommand(),
		a.toolkitCommand(), a.databaseCommand(), a.userCommand(),
		a.startStopCommand("start"), a.startStopCommand("stop"),
		a.dumpCommand(), a.migrateCommand(),
	}
}

// runE marks the start of a command's own code (see app.started) and
// bounds it by --timeout.
func (a *app) runE(f func(ctx context.Context, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.started = true
		ctx := cmd.Context()
		if a.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, a.timeout)
			defer cancel()
		}
		return f(ctx, cmd, args)
	}
}

// args returns a cobra argument check that names what is missing or extra
// and shows the usage line.
func args(min, max int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < min:
			return usageErrorf("%s: missing %s: usage: %s", cmd.Name(), strings.Join(names[len(args):min], " "), cmd.UseLine())
		case max >= 0 && len(args) > max:
			return usageErrorf("%s: unexpected argument %q: usage: %s", cmd.Name(), clip(args[max]), cmd.UseLine())
		}
		return nil
	}
}

// config builds the provider configuration from the global flags.
func (a *app) config() (dbaas.Config, error) { return a.configFor(a.provider) }

// configFor builds the configuration of the named provider from the
// global flags.
func (a *app) configFor(provider string) (dbaas.Config, error) {
	cfg := dbaas.Config{Region: a.region, BaseURL: a.baseURL}
	if cfg.BaseURL == "" {
		// Set by "dbaas sim" for each simulated cloud.
		cfg.BaseURL = a.getenv(baseURLEnv(provider))
	}
	if err := cfg.Validate(); err != nil {
		// a usage error at once: a bad scheme would otherwise be retried
		return cfg, usageErrorf("--base-url (or DBAAS_BASE_URL, %s): %v", baseURLEnv(provider), err)
	}
	if a.tokenFile != "" {
		b, err := os.ReadFile(a.tokenFile)
		if err != nil {
			return cfg, usageErrorf("--token-file: %v", err)
		}
		cfg.Token = dbaas.NewSecret(strings.TrimSpace(string(b)))
	}
	if a.settingsFile != "" {
		b, err := readFileOrStdin(a, a.settingsFile, 64<<10)
		if err != nil {
			return cfg, usageErrorf("--settings-file: %v", err)
		}
		cfg.Settings = map[string]string{}
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok || strings.TrimSpace(k) == "" {
				// Not echoed: a setting may hold a secret key or password.
				return cfg, usageErrorf("--settings-file: line %d is not key=value", i+1)
			}
			cfg.Settings[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if len(a.settings) > 0 && cfg.Settings == nil {
		cfg.Settings = make(map[string]string, len(a.settings))
	}
	for i, s := range a.settings {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			// Not echoed: a setting may hold a secret key or password.
			return cfg, usageErrorf("--set number %d is not key=value", i+1)
		}
		if secretSetting(k) {
			// The value is on the command line already; refusing it keeps
			// the habit from taking root.
			return cfg, usageErrorf("--set %s: a secret is not taken on the command line, where the process list shows it: put %s=… in a 0600 file and give --settings-file FILE (or - for stdin)", clip(k), clip(k))
		}
		cfg.Settings[k] = v
	}
	return cfg, nil
}

// secretSetting reports whether a setting's name says it holds a secret.
func secretSetting(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"password", "secret", "token", "private_key"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// readFileOrStdin reads path, or stdin for "-", refusing more than limit
// bytes.
func readFileOrStdin(a *app, path string, limit int64) ([]byte, error) {
	if path == "-" {
		return readAllLimited(a.stdin, limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllLimited(f, limit)
}

// checkProvider refuses an unknown --provider before anything else runs.
func (a *app) checkProvider() error {
	known := a.providers()
	if slices.Contains(known, a.provider) {
		return nil
	}
	return usageErrorf("--provider %q: unknown provider: want one of %s", clip(a.provider), strings.Join(known, ", "))
}

// openProvider opens the provider chosen by the global flags.
func (a *app) openProvider(ctx context.Context) (dbaas.Provider, error) {
	if err := a.checkProvider(); err != nil {
		return nil, err
	}
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	p, err := a.open(ctx, a.provider, cfg)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, p)
	return p, nil
}

// openInstance opens the provider chosen by the global flags, runs checks
// on it (capability checks that must refuse before any call about the
// instance) and resolves ref by id or name.
func (a *app) openInstance(ctx context.Context, ref string, checks ...func(dbaas.Provider) error) (dbaas.Provider, *dbaas.Instance, error) {
	p, err := a.openProvider(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, check := range checks {
		if err := check(p); err != nil {
			return nil, nil, err
		}
	}
	inst, err := resolve(ctx, p, ref)
	if err != nil {
		return nil, nil, err
	}
	return p, inst, nil
}

// buildsInProcess names the providers whose new instances are built by
// this process (local runs the servers' setup in the background): their
// creates must see the build through before the process exits.
var buildsInProcess = map[string]bool{"local": true}

// resolve finds an instance by id, or by name when no id matches, so that
// scripts can use the names they chose. A reference that is not even an id
// to the provider (Linode's are "mysql/123") is looked up as a name.
func resolve(ctx context.Context, p dbaas.Provider, ref string) (*dbaas.Instance, error) {
	inst, err := p.Get(ctx, ref)
	notID := errors.Is(err, dbaas.ErrInvalidArgument)
	if err == nil || !(errors.Is(err, dbaas.ErrNotFound) || notID) {
		return inst, err
	}
	byName, ferr := dbaas.FindByName(ctx, p, ref)
	switch {
	case ferr == nil:
		return byName, nil
	case notID && errors.Is(ferr, dbaas.ErrNotFound):
		provider := ""
		if de := (*dbaas.Error)(nil); errors.As(err, &de) {
			provider = de.Provider
		}
		return nil, &dbaas.Error{Provider: provider, Op: "get", ID: clip(ref), Kind: dbaas.ErrNotFound, Err: errors.New("no instance has this id or name")}
	}
	return nil, err
}

// note writes an informational line to stderr unless --quiet.
func (a *app) note(format string, args ...any) {
	if a.quiet {
		return
	}
	fmt.Fprintf(a.stderr, format+"\n", args...)
}

// clip shortens echoed input so that a long argument cannot flood an
// error line.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
