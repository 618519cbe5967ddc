package simkit_test

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

func TestPassword(t *testing.T) {
	a, b := simkit.Password(), simkit.Password()
	assert.Len(t, a, 24)
	assert.NotEqual(t, a, b)
	assert.Regexp(t, `^[A-HJ-NP-Za-km-z2-9]+$`, a, "no character people confuse")
	s := dbaas.Spec{Name: "pwd", Engine: dbaas.Postgres, Size: "small", AdminPassword: dbaas.NewSecret(a)}
	assert.NoError(t, s.Validate(), "a generated password passes the shared rules")
}

func TestNewUUID(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := simkit.NewUUID(), simkit.NewUUID()
	assert.Regexp(t, v4, a)
	assert.NotEqual(t, a, b)
}
