package provider

import (
	"fmt"
	"net/url"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"k8s.io/apimachinery/pkg/util/validation"
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

// checkNetwork accepts a network that can label istio-system.
func checkNetwork(cluster, network string) []p.CheckFailure {
	if network == "" {
		return []p.CheckFailure{{Property: "network", Reason: fmt.Sprintf("cluster %q: network must not be empty", cluster)}}
	}
	if errs := validation.IsValidLabelValue(network); len(errs) > 0 {
		return []p.CheckFailure{{Property: "network", Reason: fmt.Sprintf("cluster %q: network %q is not a valid label value: %s", cluster, network, strings.Join(errs, "; "))}}
	}
	return nil
}
