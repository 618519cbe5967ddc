package simkit

import (
	"crypto/rand"
	"fmt"
)

// passwordAlphabet leaves out letters and digits people confuse (I, l,
// O, 0, 1), as the clouds' generated passwords do.
const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// Password returns a new random password of 24 letters and digits: what
// a simulator hands out where its cloud generates one. It passes
// dbaas.Spec's password rules.
func Password() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = passwordAlphabet[int(b[i])%len(passwordAlphabet)]
	}
	return string(b)
}

// NewUUID returns a random (version 4) UUID, the form of the clouds'
// request and resource ids.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
