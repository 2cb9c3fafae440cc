package kubeconfig

import (
	"regexp"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ParseError reports a kubeconfig that does not parse. Its message keeps
// the parser's explanation only when that cannot quote the input; the
// parser's error stays reachable through errors.Unwrap.
type ParseError struct {
	reason string
	err    error
}

func (e *ParseError) Error() string { return e.reason }
func (e *ParseError) Unwrap() error { return e.err }

// safeParseMessages are parser messages known to describe the problem
// without quoting the input (YAML syntax errors, JSON type mismatches that
// name Go types, base64 offsets).
var safeParseMessages = []*regexp.Regexp{
	regexp.MustCompile(`^yaml: (line \d+: )?[a-z][a-z ,'-]*$`),
	regexp.MustCompile(`^error converting YAML to JSON: yaml: (line \d+: )?[a-z][a-z ,'-]*$`),
	regexp.MustCompile(`^json: cannot unmarshal [a-z]+ into Go (struct field [A-Za-z0-9_.]+|value) of type [\[\]A-Za-z0-9_.*]+$`),
	regexp.MustCompile(`^illegal base64 data at input byte \d+$`),
}

// parse decodes a kubeconfig. An empty input is an empty kubeconfig.
func parse(data []byte) (*clientcmdapi.Config, error) {
	cfg, err := clientcmd.Load(data)
	if err != nil {
		return nil, parseError(err)
	}
	if cfg.Clusters == nil {
		cfg.Clusters = map[string]*clientcmdapi.Cluster{}
	}
	if cfg.AuthInfos == nil {
		cfg.AuthInfos = map[string]*clientcmdapi.AuthInfo{}
	}
	if cfg.Contexts == nil {
		cfg.Contexts = map[string]*clientcmdapi.Context{}
	}
	return cfg, nil
}

func parseError(err error) *ParseError {
	msg := err.Error()
	for _, re := range safeParseMessages {
		if re.MatchString(msg) {
			return &ParseError{reason: "not a valid kubeconfig: " + msg, err: err}
		}
	}
	return &ParseError{reason: "not a valid kubeconfig (the parser's message is withheld because it may quote the contents)", err: err}
}
