package charts

import "net/http"

// WithTransport returns s with its http(s) requests carried by rt, so a test
// can trust its own TLS server.
func WithTransport(s Source, rt http.RoundTripper) Source {
	s.transport = rt
	return s
}
