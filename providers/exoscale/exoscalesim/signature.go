package exoscalesim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// signatureScheme starts the Authorization header of a signed request.
const signatureScheme = "EXO2-HMAC-SHA256 "

// verify checks the request's EXO2-HMAC-SHA256 signature as the API
// does: the message is the method and escaped path, the body, the values
// of the signed query arguments (in the order the header lists them), the
// signed header values (none) and the expiry, joined by newlines, signed
// with HMAC-SHA256 under the API secret. It returns the API key, or the
// message of the 403 to answer. The body is left readable.
func (s *Server) verify(r *http.Request) (key, msg string) {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, signatureScheme)
	if !ok {
		return "", "Missing or malformed Authorization header: requests must be signed with EXO2-HMAC-SHA256"
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", "Malformed Authorization header"
		}
		fields[k] = v
	}
	key, expires, sig := fields["credential"], fields["expires"], fields["signature"]
	if key == "" || expires == "" || sig == "" {
		return "", "Malformed Authorization header: credential, expires and signature are required"
	}
	if key != s.opts.APIKey {
		return "", "Invalid API key"
	}
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil {
		return "", "Malformed Authorization header: expires is not a UNIX time"
	}
	if now := s.sigTime.Now().Unix(); exp < now {
		return "", "Request signature expired at " + expires + " (server time " + strconv.FormatInt(now, 10) + "): check the client's clock"
	}

	var signed []string
	if v := fields["signed-query-args"]; v != "" {
		signed = strings.Split(v, ";")
	}
	query := r.URL.Query()
	var values strings.Builder
	for _, name := range signed {
		if len(query[name]) != 1 {
			return "", "Invalid request signature: signed query argument " + name + " is not in the request"
		}
		values.WriteString(query.Get(name))
	}
	for name, vs := range query {
		if len(vs) == 1 && !slices.Contains(signed, name) {
			return "", "Invalid request signature: query argument " + name + " is not signed"
		}
	}

	var body []byte
	if r.Body != nil {
		body, err = io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return "", "Unreadable request body"
		}
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	message := strings.Join([]string{r.Method + " " + r.URL.EscapedPath(), string(body), values.String(), "", expires}, "\n")
	mac := hmac.New(sha256.New, []byte(s.opts.APISecret))
	mac.Write([]byte(message))
	want := mac.Sum(nil)
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, want) {
		return "", "Invalid request signature"
	}
	return key, ""
}
