package awssim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// secret is a Secrets Manager secret holding an instance's master
// credentials, as RDS makes for ManageMasterUserPassword.
type secret struct {
	ARN, Name, Version string
	value              string
	Created            time.Time
}

func (sc *secret) set(user, password string) {
	b, _ := json.Marshal(map[string]string{"username": user, "password": password})
	sc.value = string(b)
	sc.Version = randomHex(32)
}

// newSecretLocked stores the credentials under a name like RDS's
// ("rds!db-<uuid>") and returns the secret's ARN.
func (s *Server) newSecretLocked(user, password string) string {
	name := "rds!db-" + randomHex(8) + "-" + randomHex(4) + "-" + randomHex(4) + "-" + randomHex(4) + "-" + randomHex(12)
	arn := "arn:aws:secretsmanager:" + s.opts.Region + ":" + accountID + ":secret:" + name + "-" + randomHex(6)
	sc := &secret{ARN: arn, Name: name, Created: s.clock.Now()}
	sc.set(user, password)
	s.secrets[arn] = sc
	return arn
}

func (s *Server) secretsManager(req *request) ([]byte, error) {
	if req.action != "GetSecretValue" {
		return nil, &apiError{status: http.StatusBadRequest, code: "UnknownOperationException", msg: "the operation " + req.action + " is not served"}
	}
	var in struct {
		SecretID string `json:"SecretId"`
	}
	if err := json.Unmarshal(req.body, &in); err != nil || in.SecretID == "" {
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidParameterException", msg: "SecretId is required"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var sc *secret
	for _, v := range s.secrets {
		if v.ARN == in.SecretID || v.Name == in.SecretID || strings.TrimSuffix(v.ARN, v.ARN[strings.LastIndex(v.ARN, "-"):]) == in.SecretID {
			sc = v
			break
		}
	}
	if sc == nil {
		return nil, &apiError{status: http.StatusBadRequest, code: "ResourceNotFoundException", msg: "Secrets Manager can't find the specified secret."}
	}
	return json.Marshal(map[string]any{
		"ARN": sc.ARN, "Name": sc.Name, "SecretString": sc.value, "VersionId": sc.Version,
		"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": float64(sc.Created.UnixMilli()) / 1000,
	})
}
