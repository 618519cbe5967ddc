package realdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// myHosts are the host parts a login is made for: '%' for TCP from
// anywhere on the machine, and the loopback names explicitly, because an
// anonymous ”@'localhost' account would otherwise take precedence.
var myHosts = []string{"%", "localhost", "127.0.0.1"}

func quoteName(name string) string { return "`" + name + "`" }

// myExec runs statements in order; an error names what failed without
// the statement, which may hold a password.
func myExec(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, what string, stmts ...string) error {
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// myAttach makes database e.name and login e.user with rights on it
// alone, filled from snapshot database from when set.
func (b *Backend) myAttach(ctx context.Context, e entry, password, from string) error {
	if err := myExec(ctx, b.my, "create database", "CREATE DATABASE "+quoteName(e.name)); err != nil {
		return err
	}
	for _, h := range myHosts {
		if err := myExec(ctx, b.my, "create login",
			fmt.Sprintf("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'", e.user, h, password),
			fmt.Sprintf("GRANT ALL ON %s.* TO '%s'@'%s'", quoteName(e.name), e.user, h)); err != nil {
			return err
		}
	}
	if from == "" {
		return nil
	}
	return b.myCopy(ctx, from, e.name)
}

// myCopy copies every base table of src into dst (made when missing):
// structure with CREATE TABLE … LIKE (indexes, not foreign keys), rows
// with INSERT … SELECT in one transaction. Views, routines and triggers
// are not copied.
func (b *Backend) myCopy(ctx context.Context, src, dst string) (err error) {
	c, err := b.my.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := myExec(ctx, c, "create database", "CREATE DATABASE IF NOT EXISTS "+quoteName(dst)); err != nil {
		return err
	}
	rows, err := c.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'", src)
	if err != nil {
		return fmt.Errorf("list tables of %s: %w", src, err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			_ = rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("list tables of %s: %w", src, err)
	}
	for _, t := range tables {
		if err := myExec(ctx, c, "copy table "+t, "CREATE TABLE "+quoteName(dst)+"."+quoteName(t)+" LIKE "+quoteName(src)+"."+quoteName(t)); err != nil {
			return err
		}
	}
	if err := myExec(ctx, c, "copy rows", "SET SESSION foreign_key_checks = 0", "START TRANSACTION"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
		err = errors.Join(err, myExec(context.WithoutCancel(ctx), c, "copy rows", "SET SESSION foreign_key_checks = 1"))
	}()
	for _, t := range tables {
		if err := myExec(ctx, c, "copy rows of "+t, "INSERT INTO "+quoteName(dst)+"."+quoteName(t)+" SELECT * FROM "+quoteName(src)+"."+quoteName(t)); err != nil {
			return err
		}
	}
	return myExec(ctx, c, "copy rows", "COMMIT")
}

// myDrop drops e's database and, when it has one, its login.
func (b *Backend) myDrop(ctx context.Context, e entry) error {
	stmts := []string{"DROP DATABASE IF EXISTS " + quoteName(e.name)}
	if e.user != "" {
		for _, h := range myHosts {
			stmts = append(stmts, fmt.Sprintf("DROP USER IF EXISTS '%s'@'%s'", e.user, h))
		}
	}
	return myExec(ctx, b.my, "drop "+e.name, stmts...)
}
