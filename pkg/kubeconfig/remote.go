package kubeconfig

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// BuildRemote builds the kubeconfig that a remote secret carries for
// cluster: one cluster, one user and one context, all named cluster; the
// context is current; the CA is inline and the user holds a bearer token.
// The output is deterministic. caData may be empty when the server's
// certificate chains to the system roots.
func BuildRemote(cluster, server string, caData []byte, token string) ([]byte, error) {
	if err := naming.ValidateDNSLabel(cluster); err != nil {
		return nil, fmt.Errorf("remote kubeconfig: cluster name: %w", err)
	}
	if err := checkServer(server); err != nil {
		return nil, fmt.Errorf("remote kubeconfig for cluster %q: %w", cluster, err)
	}
	if token == "" {
		return nil, fmt.Errorf("remote kubeconfig for cluster %q: token is empty", cluster)
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return nil, fmt.Errorf("remote kubeconfig for cluster %q: token contains whitespace", cluster)
	}
	cfg := clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{cluster: {Server: server, CertificateAuthorityData: caData}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{cluster: {Token: token}},
		Contexts:       map[string]*clientcmdapi.Context{cluster: {Cluster: cluster, AuthInfo: cluster}},
		CurrentContext: cluster,
	}
	out, err := clientcmd.Write(cfg)
	if err != nil {
		// Serialization of these plain values does not fail; if it does,
		// its message could quote them.
		return nil, fmt.Errorf("remote kubeconfig for cluster %q: serialize failed", cluster)
	}
	return out, nil
}

// ParseRemote reads back a kubeconfig built by BuildRemote (or by
// istioctl create-remote-secret): its current-context must be cluster and
// its user must hold a bearer token.
func ParseRemote(data []byte, cluster string) (server string, caData []byte, token string, err error) {
	fail := func(format string, args ...any) (string, []byte, string, error) {
		return "", nil, "", fmt.Errorf("remote kubeconfig for cluster %q: "+format, append([]any{cluster}, args...)...)
	}
	if len(data) == 0 {
		return fail("empty")
	}
	cfg, perr := parse(data)
	if perr != nil {
		return fail("%w", perr)
	}
	if cfg.CurrentContext != cluster {
		return fail("current-context is %q, want %q", cfg.CurrentContext, cluster)
	}
	ctx, ok := cfg.Contexts[cluster]
	if !ok || ctx == nil {
		return fail("context %q is not defined", cluster)
	}
	c, ok := cfg.Clusters[ctx.Cluster]
	if !ok || c == nil {
		return fail("context refers to cluster %q, which is not defined", ctx.Cluster)
	}
	if c.Server == "" {
		return fail("cluster %q has no server", ctx.Cluster)
	}
	u, ok := cfg.AuthInfos[ctx.AuthInfo]
	if !ok || u == nil {
		return fail("context refers to user %q, which is not defined", ctx.AuthInfo)
	}
	if u.Token == "" {
		return fail("user %q has no bearer token", ctx.AuthInfo)
	}
	return c.Server, c.CertificateAuthorityData, u.Token, nil
}

func checkServer(server string) error {
	if server == "" {
		return errors.New("server is empty")
	}
	u, err := url.Parse(server)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("server %q is not an http(s) URL with a host", server)
	}
	return nil
}
