package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// The application's own databases and users inside an instance.

func (a *app) databaseCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "database", Short: "The application databases inside an instance", GroupID: "connect"}
	cmd.AddCommand(&cobra.Command{
		Use:   "ensure ID|NAME DATABASE",
		Short: "Create the database unless it exists",
		Args:  args(2, 2, "ID|NAME", "DATABASE"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			if err := dbaas.ValidateDatabaseName("DATABASE", args[1]); err != nil {
				return usageErrorf("database ensure: %v", err)
			}
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			if err := p.EnsureDatabase(ctx, inst.ID, args[1]); err != nil {
				return err
			}
			return a.emitLine(map[string]string{"id": inst.ID, "database": args[1]}, args[1])
		}),
	}, &cobra.Command{
		Use:   "list ID|NAME",
		Short: "List the databases, system ones left out",
		Args:  args(1, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			list, err := p.Databases(ctx, inst.ID)
			if err != nil {
				return err
			}
			if list == nil {
				list = []string{}
			}
			return a.emit(list, func(w io.Writer) error { lines(w, "", list); return nil })
		}),
	}, &cobra.Command{
		Use:   "drop ID|NAME DATABASE --yes",
		Short: "Drop the database and everything in it",
		Args:  args(2, 2, "ID|NAME", "DATABASE"),
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			if yes, _ := cmd.Flags().GetBool("yes"); !yes {
				return usageErrorf("database drop %s: this deletes its data: add --yes to mean it", clip(args[1]))
			}
			if err := dbaas.ValidateDatabaseName("DATABASE", args[1]); err != nil {
				return usageErrorf("database drop: %v", err)
			}
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			return p.DropDatabase(ctx, inst.ID, args[1])
		}),
	})
	for _, c := range cmd.Commands() {
		if c.Name() == "drop" {
			c.Flags().Bool("yes", false, "drop without asking")
		}
	}
	return cmd
}

// userResult is the JSON of user ensure and rotate: never the password,
// which goes to the password file.
type userResult struct {
	ID           string `json:"id"`
	User         string `json:"user"`
	Database     string `json:"database,omitempty"`
	PasswordFile string `json:"password_file,omitempty"`
}

func (a *app) userCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "The application users inside an instance", GroupID: "connect"}
	var database, passwordFile, newPasswordFile string
	ensure := &cobra.Command{
		Use:   "ensure ID|NAME USER [--database DB] --password-file PATH",
		Short: "Make the application user (least privilege on its database) unless it exists",
		Long: `user ensure makes USER, or brings an existing one to the flags: it owns
--database on PostgreSQL, or has all privileges on it only on MySQL and
MariaDB; it is no superuser and cannot make users or databases. A new
user's password is written to --password-file (mode 0600), never to
stdout; --new-password-file sets a password of your own instead.`,
		Args: args(2, 2, "ID|NAME", "USER"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			if passwordFile == "" {
				return usageErrorf("user ensure: --password-file PATH is required: a new password is written there, never to stdout")
			}
			u := dbaas.UserSpec{Name: args[1], Database: database}
			if newPasswordFile != "" {
				pw, err := readSecretFile(a, newPasswordFile)
				if err != nil {
					return usageErrorf("--new-password-file: %v", err)
				}
				u.Password = pw
			}
			if err := u.Validate(); err != nil {
				return usageErrorf("user ensure: %v", err)
			}
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			if database != "" {
				if err := p.EnsureDatabase(ctx, inst.ID, database); err != nil {
					return err
				}
			}
			got, err := p.EnsureUser(ctx, inst.ID, u)
			if err != nil {
				return err
			}
			res := userResult{ID: inst.ID, User: got.Name, Database: database}
			if !got.Password.IsZero() {
				if err := writeSecretFile(passwordFile, got.Password); err != nil {
					return err
				}
				res.PasswordFile = passwordFile
			} else {
				a.note("user %s exists; its password is unchanged and not readable back (rotate it to learn a new one)", got.Name)
			}
			return a.emitLine(res, got.Name)
		}),
	}
	ensure.Flags().StringVar(&database, "database", "", "the database the user gets (made unless it exists)")
	ensure.Flags().StringVar(&passwordFile, "password-file", "", "file the password is written to, mode 0600 (required)")
	ensure.Flags().StringVar(&newPasswordFile, "new-password-file", "", "file holding a password of your own for the user ('-' reads stdin)")

	var rotateFile string
	rotate := &cobra.Command{
		Use:   "rotate ID|NAME USER --password-file PATH",
		Short: "Give the user a new random password, written to --password-file",
		Args:  args(2, 2, "ID|NAME", "USER"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			if rotateFile == "" {
				return usageErrorf("user rotate: --password-file PATH is required: the new password is written there, never to stdout")
			}
			if err := dbaas.ValidateUserName("USER", args[1]); err != nil {
				return usageErrorf("user rotate: %v", err)
			}
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			got, err := p.RotatePassword(ctx, inst.ID, args[1])
			if err != nil {
				return err
			}
			if err := writeSecretFile(rotateFile, got.Password); err != nil {
				return err
			}
			return a.emitLine(userResult{ID: inst.ID, User: got.Name, PasswordFile: rotateFile}, got.Name)
		}),
	}
	rotate.Flags().StringVar(&rotateFile, "password-file", "", "file the new password is written to, mode 0600 (required)")

	cmd.AddCommand(ensure, rotate, &cobra.Command{
		Use:   "list ID|NAME",
		Short: "List the application users and their databases",
		Args:  args(1, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			list, err := p.Users(ctx, inst.ID)
			if err != nil {
				return err
			}
			res := make([]userResult, len(list))
			rows := make([][]string, len(list))
			for i, u := range list {
				res[i] = userResult{ID: inst.ID, User: u.Name, Database: u.Database}
				rows[i] = []string{u.Name, dash(u.Database)}
			}
			return a.emit(res, func(w io.Writer) error { return table(w, []string{"USER", "DATABASE"}, rows) })
		}),
	}, &cobra.Command{
		Use:   "drop ID|NAME USER",
		Short: "Drop the user (what it owned goes to the admin)",
		Args:  args(2, 2, "ID|NAME", "USER"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			if err := dbaas.ValidateUserName("USER", args[1]); err != nil {
				return usageErrorf("user drop: %v", err)
			}
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			return p.DropUser(ctx, inst.ID, args[1])
		}),
	})
	return cmd
}

// startStopCommand is dbaas start or dbaas stop, where the provider can
// (Capabilities.StartStop).
func (a *app) startStopCommand(verb string) *cobra.Command {
	return &cobra.Command{
		Use:     verb + " ID|NAME",
		Short:   map[string]string{"start": "Start a stopped instance", "stop": "Stop an instance (its data stays)"}[verb],
		GroupID: "instances",
		Args:    args(1, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			p, inst, err := a.openInstance(ctx, args[0], func(p dbaas.Provider) error {
				if !p.Capabilities().StartStop {
					return unsupported(a.provider, verb, "this provider cannot start or stop instances")
				}
				return nil
			})
			if err != nil {
				return err
			}
			s, ok := p.(dbaas.Starter)
			if !ok {
				return unsupported(a.provider, verb, "this provider cannot start or stop instances")
			}
			if verb == "start" {
				err = s.Start(ctx, inst.ID)
			} else {
				err = s.Stop(ctx, inst.ID)
			}
			if err != nil {
				return err
			}
			return a.emitLine(map[string]string{"id": inst.ID}, inst.ID)
		}),
	}
}
