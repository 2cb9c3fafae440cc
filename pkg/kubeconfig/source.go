// Package kubeconfig loads and checks the kubeconfig a cluster is reached
// with, and builds the kubeconfig Istio reads from a remote secret.
//
// Everything here is pure apart from reading the kubeconfig file and the
// certificate-authority file it may name. Errors say which file, context or
// cluster is at fault and never quote a kubeconfig's contents, a token or a
// key.
package kubeconfig

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Client settings RESTConfig applies: client-go's defaults (5 QPS, burst 10)
// throttle a Helm install of Istio's CRDs, and no timeout lets a dead
// cluster hang an update forever.
const (
	QPS     = 50
	Burst   = 100
	Timeout = 30 * time.Second
	// UserAgent is appended to client-go's default user agent.
	UserAgent = "ristio"
)

// Source says how to reach a cluster: kubeconfig contents or a kubeconfig
// file (at most one), and optionally the context to use. With neither set,
// the default loading rules apply (KUBECONFIG, then ~/.kube/config).
type Source struct {
	// Kubeconfig holds the contents of a kubeconfig. It is secret.
	Kubeconfig string
	// File is the path of a kubeconfig file.
	File string
	// Context selects a context; empty means the kubeconfig's current-context.
	Context string
}

// loaded is a parsed kubeconfig with its context chosen and checked.
type loaded struct {
	config  *clientcmdapi.Config
	context string
	// origin describes where the kubeconfig came from, for errors; never its contents.
	origin string
	access clientcmd.ConfigAccess
}

// Validate checks that the source names one usable context: not both
// contents and file, a readable file, a kubeconfig that parses, and a context
// that exists and points at a defined cluster with a server.
func (s Source) Validate() error {
	_, err := s.load()
	return err
}

// ClientConfig returns the client configuration of the selected context.
func (s Source) ClientConfig() (clientcmd.ClientConfig, error) {
	l, err := s.load()
	if err != nil {
		return nil, err
	}
	return clientcmd.NewNonInteractiveClientConfig(*l.config, l.context, &clientcmd.ConfigOverrides{}, l.access), nil
}

// RESTConfig returns the REST configuration of the selected context, with
// QPS, Burst and Timeout set to this package's values.
func (s Source) RESTConfig() (*rest.Config, error) {
	l, err := s.load()
	if err != nil {
		return nil, err
	}
	cc := clientcmd.NewNonInteractiveClientConfig(*l.config, l.context, &clientcmd.ConfigOverrides{}, l.access)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("context %q of %s: %w", l.context, l.origin, err)
	}
	SetRateLimitDefaults(cfg)
	cfg.Timeout = Timeout
	cfg = rest.AddUserAgent(cfg, UserAgent)
	return cfg, nil
}

// SetRateLimitDefaults gives cfg this package's QPS and Burst where it sets
// none; limits it sets are kept. Every client ristio builds goes through it,
// so none falls back to client-go's throttling defaults.
func SetRateLimitDefaults(cfg *rest.Config) {
	if cfg.QPS == 0 {
		cfg.QPS = QPS
	}
	if cfg.Burst == 0 {
		cfg.Burst = Burst
	}
}

// Endpoint returns the server URL of the selected context and the CA
// certificates (PEM) that verify it, from certificate-authority-data or the
// certificate-authority file. caData is nil when the kubeconfig names no CA
// (the system roots are trusted, or TLS verification is skipped).
func (s Source) Endpoint() (server string, caData []byte, err error) {
	l, err := s.load()
	if err != nil {
		return "", nil, err
	}
	name := l.config.Contexts[l.context].Cluster
	cluster := l.config.Clusters[name]
	caData = cluster.CertificateAuthorityData
	if len(caData) == 0 && cluster.CertificateAuthority != "" {
		caData, err = os.ReadFile(cluster.CertificateAuthority)
		if err != nil {
			return "", nil, fmt.Errorf("cluster %q of %s: read certificate-authority file: %w", name, l.origin, err)
		}
	}
	if len(caData) > 0 && !x509.NewCertPool().AppendCertsFromPEM(caData) {
		return "", nil, fmt.Errorf("cluster %q of %s: certificate authority holds no PEM certificate", name, l.origin)
	}
	return cluster.Server, caData, nil
}

func (s Source) load() (*loaded, error) {
	l := &loaded{}
	switch {
	case s.Kubeconfig != "" && s.File != "":
		return nil, errors.New("both kubeconfig contents and a kubeconfig file are set; set only one")
	case s.Kubeconfig != "":
		l.origin = "the kubeconfig contents"
		cfg, err := parse([]byte(s.Kubeconfig))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.origin, err)
		}
		l.config = cfg
	case s.File != "":
		l.origin = "kubeconfig file " + s.File
		data, err := os.ReadFile(s.File)
		if err != nil {
			// The *PathError names the file.
			return nil, fmt.Errorf("read kubeconfig file: %w", err)
		}
		cfg, err := parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.origin, err)
		}
		setOrigin(cfg, s.File)
		if err := clientcmd.ResolveLocalPaths(cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", l.origin, err)
		}
		l.config = cfg
		l.access = &clientcmd.ClientConfigLoadingRules{ExplicitPath: s.File}
	default:
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		files := rules.GetLoadingPrecedence()
		l.origin = "the default kubeconfig (" + strings.Join(files, string(os.PathListSeparator)) + ")"
		cfg, err := rules.Load()
		if err != nil {
			return nil, defaultLoadError(files, err)
		}
		l.config = cfg
		l.access = rules
	}
	return l, l.selectContext(s.Context)
}

// selectContext picks and checks the context.
func (l *loaded) selectContext(want string) error {
	cfg := l.config
	l.context = want
	if l.context == "" {
		l.context = cfg.CurrentContext
	}
	if l.context == "" {
		return fmt.Errorf("%s has no current-context and no context was given; available contexts: %s",
			l.origin, contextNames(cfg))
	}
	ctx, ok := cfg.Contexts[l.context]
	if !ok || ctx == nil {
		return fmt.Errorf("context %q not found in %s; available contexts: %s", l.context, l.origin, contextNames(cfg))
	}
	cluster, ok := cfg.Clusters[ctx.Cluster]
	if !ok || cluster == nil {
		return fmt.Errorf("context %q of %s refers to cluster %q, which is not defined", l.context, l.origin, ctx.Cluster)
	}
	if cluster.Server == "" {
		return fmt.Errorf("cluster %q of %s has no server", ctx.Cluster, l.origin)
	}
	if ctx.AuthInfo != "" {
		if u, ok := cfg.AuthInfos[ctx.AuthInfo]; !ok || u == nil {
			return fmt.Errorf("context %q of %s refers to user %q, which is not defined", l.context, l.origin, ctx.AuthInfo)
		}
	}
	return nil
}

func contextNames(cfg *clientcmdapi.Config) string {
	if len(cfg.Contexts) == 0 {
		return "(none)"
	}
	names := make([]string, 0, len(cfg.Contexts))
	for n := range cfg.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func setOrigin(cfg *clientcmdapi.Config, file string) {
	for _, c := range cfg.Clusters {
		c.LocationOfOrigin = file
	}
	for _, u := range cfg.AuthInfos {
		u.LocationOfOrigin = file
	}
	for _, c := range cfg.Contexts {
		c.LocationOfOrigin = file
	}
}

// defaultLoadError names the default kubeconfig file that failed, with an
// error that does not quote it. client-go's own message may.
func defaultLoadError(files []string, err error) error {
	for _, f := range files {
		data, rerr := os.ReadFile(f)
		if errors.Is(rerr, os.ErrNotExist) {
			continue
		}
		if rerr != nil {
			return fmt.Errorf("read kubeconfig file: %w", rerr)
		}
		if _, perr := parse(data); perr != nil {
			return fmt.Errorf("kubeconfig file %s: %w", f, perr)
		}
	}
	return &ParseError{reason: "the default kubeconfig could not be loaded", err: err}
}
