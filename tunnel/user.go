package tunnel

import (
	"os"
	"os/user"
)

// currentUser is the login name ssh would use when none is given.
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}
