package provider

import (
	"fmt"
	"net/url"
)

// checkHTTPSURL accepts an absolute https:// URL with a host; API servers are
// reached over TLS only.
func checkHTTPSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", raw, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q must be an https:// URL with a host", raw)
	}
	return nil
}
