package awssim

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

const (
	rdsVersion = "2014-10-31"
	ec2Version = "2016-11-15"
	rdsXMLNS   = "http://rds.amazonaws.com/doc/2014-10-31/"
	ec2XMLNS   = "http://ec2.amazonaws.com/doc/2016-11-15/"
)

// apiError is an error answer in the wire format of the service that got
// the request.
type apiError struct {
	status     int
	code       string
	msg        string
	server     bool
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func invalidParam(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "InvalidParameterValue", msg: msg}
}

func invalidCombination(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "InvalidParameterCombination", msg: msg}
}

func missingParam(name string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "MissingParameter", msg: "The request must contain the parameter " + name}
}

func (s *Server) writeError(w http.ResponseWriter, req *request, err error) {
	e, ok := err.(*apiError)
	if !ok {
		e = &apiError{status: http.StatusInternalServerError, code: "InternalFailure", msg: err.Error(), server: true}
	}
	if e.retryAfter > 0 {
		w.Header().Set("x-amz-retry-after", strconv.FormatInt(e.retryAfter.Milliseconds(), 10))
	}
	switch req.service {
	case "ec2":
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(e.status)
		_, _ = w.Write(marshalXML(ec2ErrorResponse{
			Errors:    []ec2Error{{Code: e.code, Message: e.msg}},
			RequestID: req.id,
		}))
	case "secretsmanager":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", e.code)
		w.WriteHeader(e.status)
		b, _ := json.Marshal(map[string]string{"__type": e.code, "Message": e.msg})
		_, _ = w.Write(b)
	default:
		typ := "Sender"
		if e.server {
			typ = "Receiver"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(e.status)
		_, _ = w.Write(marshalXML(rdsErrorResponse{
			Xmlns:     rdsXMLNS,
			Error:     rdsError{Type: typ, Code: e.code, Message: e.msg},
			RequestID: req.id,
		}))
	}
}

type rdsErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Error     rdsError `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

type rdsError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type ec2ErrorResponse struct {
	XMLName   xml.Name   `xml:"Response"`
	Errors    []ec2Error `xml:"Errors>Error"`
	RequestID string     `xml:"RequestID"`
}

type ec2Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// rdsResponse wraps an RDS result as <{Op}Response><{Op}Result>…
// </{Op}Result><ResponseMetadata>…; result must have no XMLName field.
func rdsResponse(action, requestID string, result any) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, action, rdsXMLNS)
	if result != nil {
		enc := xml.NewEncoder(&b)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			panic("awssim: marshal xml: " + err.Error())
		}
	}
	fmt.Fprintf(&b, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, requestID, action)
	return b.Bytes()
}

// ec2Response writes an EC2 answer: <{Op}Response> holding requestId and
// the result's fields, with no Result wrapper.
func ec2Response(action, requestID string, result any) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	fmt.Fprintf(&b, `<%sResponse xmlns="%s"><requestId>%s</requestId>`, action, ec2XMLNS, requestID)
	if result != nil {
		// Encode the fields inside a throwaway element, then drop its tags.
		var inner bytes.Buffer
		enc := xml.NewEncoder(&inner)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: "x"}}); err != nil {
			panic("awssim: marshal xml: " + err.Error())
		}
		body := inner.Bytes()
		b.Write(body[len("<x>") : len(body)-len("</x>")])
	}
	fmt.Fprintf(&b, `</%sResponse>`, action)
	return b.Bytes()
}

func marshalXML(v any) []byte {
	b, err := xml.Marshal(v)
	if err != nil {
		// Only a programming error in the simulator's own types can get here.
		panic("awssim: marshal xml: " + err.Error())
	}
	return append([]byte(xml.Header), b...)
}

// isoTime is how the Query protocols write timestamps.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
