package kubeconfig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// Sentinels that stand for secret material: no error may contain them.
const (
	secretToken = "SENTINEL-TOKEN-d41d8cd98f00b204"
	secretKey   = "SENTINEL-KEY-e9800998ecf8427e"
)

func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test-ca"},
		NotBefore:             time.Unix(1700000000, 0),
		NotAfter:              time.Unix(1700000000, 0).Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// kubeconfigYAML returns a kubeconfig with contexts c1 (cluster k1, CA inline)
// and c2 (cluster k2, CA from the file ca.pem next to the kubeconfig), plus
// the given extra text at the end of the clusters list.
func kubeconfigYAML(ca []byte, currentContext string) string {
	return `apiVersion: v1
kind: Config
clusters:
- name: k1
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: ` + base64.StdEncoding.EncodeToString(ca) + `
- name: k2
  cluster:
    server: https://127.0.0.2:6443
    certificate-authority: ca.pem
- name: k3
  cluster:
    server: https://k3.example.com
- name: noserver
  cluster:
    insecure-skip-tls-verify: true
contexts:
- name: c1
  context: {cluster: k1, user: u1}
- name: c2
  context: {cluster: k2, user: u1}
- name: c3
  context: {cluster: k3, user: u1}
- name: dangling-cluster
  context: {cluster: missing, user: u1}
- name: dangling-user
  context: {cluster: k1, user: missing}
- name: no-server
  context: {cluster: noserver, user: u1}
current-context: ` + currentContext + `
users:
- name: u1
  user:
    token: ` + secretToken + `
    client-key-data: ` + base64.StdEncoding.EncodeToString([]byte(secretKey)) + `
`
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// isolate keeps a test away from the machine's kubeconfig. client-go reads
// HOME once at start-up, so KUBECONFIG is what steers the default rules:
// point it at a file that does not exist.
func isolate(t *testing.T) {
	t.Helper()
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent"))
}

func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range []string{secretToken, secretKey, base64.StdEncoding.EncodeToString([]byte(secretKey)), "BEGIN CERTIFICATE"} {
		if strings.Contains(msg, s) {
			t.Fatalf("error quotes secret material %q: %s", s, msg)
		}
	}
}

func TestValidate(t *testing.T) {
	ca := testCA(t)
	dir := t.TempDir()
	writeFile(t, dir, "ca.pem", string(ca))
	good := writeFile(t, dir, "config", kubeconfigYAML(ca, "c1"))
	noCurrent := writeFile(t, dir, "nocurrent", kubeconfigYAML(ca, `""`))
	badYAML := writeFile(t, dir, "bad", "users:\n- name: u\n  user:\n    token: "+secretToken+"\n  - : :\n")
	missing := filepath.Join(dir, "does-not-exist")

	tests := map[string]struct {
		src     Source
		env     string // KUBECONFIG
		wantErr []string
	}{
		"inline contents with their current context are valid": {src: Source{Kubeconfig: kubeconfigYAML(ca, "c1")}},
		"a file with an explicit context is valid":             {src: Source{File: good, Context: "c2"}},
		"an explicit context overrides an absent current one":  {src: Source{File: noCurrent, Context: "c3"}},
		"contents and file together are refused": {
			src:     Source{Kubeconfig: kubeconfigYAML(ca, "c1"), File: good},
			wantErr: []string{"both kubeconfig contents and a kubeconfig file are set"},
		},
		"a missing file is named": {
			src:     Source{File: missing},
			wantErr: []string{"read kubeconfig file", missing, "no such file"},
		},
		"an unreadable file is named": {
			src:     Source{File: dir},
			wantErr: []string{"read kubeconfig file", dir},
		},
		"a file that is not YAML is named without its contents": {
			src:     Source{File: badYAML},
			wantErr: []string{"kubeconfig file " + badYAML, "not a valid kubeconfig"},
		},
		"inline contents that are not a kubeconfig are refused without quoting them": {
			src:     Source{Kubeconfig: "users: " + secretToken},
			wantErr: []string{"the kubeconfig contents", "not a valid kubeconfig"},
		},
		"inline scalar contents are refused without quoting them": {
			src:     Source{Kubeconfig: secretToken},
			wantErr: []string{"not a valid kubeconfig", "withheld"},
		},
		"an unknown context lists the available ones": {
			src:     Source{File: good, Context: "nope"},
			wantErr: []string{`context "nope" not found`, good, "available contexts: c1, c2, c3, dangling-cluster, dangling-user, no-server"},
		},
		"no current context and none given lists the available ones": {
			src:     Source{File: noCurrent},
			wantErr: []string{"has no current-context and no context was given", "available contexts: c1, c2"},
		},
		"a context naming an undefined cluster is refused": {
			src:     Source{File: good, Context: "dangling-cluster"},
			wantErr: []string{`refers to cluster "missing", which is not defined`},
		},
		"a context naming an undefined user is refused": {
			src:     Source{File: good, Context: "dangling-user"},
			wantErr: []string{`refers to user "missing", which is not defined`},
		},
		"a cluster without a server is refused": {
			src:     Source{File: good, Context: "no-server"},
			wantErr: []string{`cluster "noserver"`, "has no server"},
		},
		"whitespace contents are an empty kubeconfig": {
			src:     Source{Kubeconfig: "  \n"},
			wantErr: []string{"has no current-context", "available contexts: (none)"},
		},
		"neither set uses KUBECONFIG": {src: Source{}, env: good},
		"neither set uses KUBECONFIG, with a context": {
			src: Source{Context: "c3"}, env: noCurrent,
		},
		"neither set and no kubeconfig anywhere says so": {
			src:     Source{},
			env:     missing,
			wantErr: []string{"the default kubeconfig (" + missing + ")", "has no current-context", "available contexts: (none)"},
		},
		"neither set with a broken KUBECONFIG file names it without its contents": {
			src:     Source{},
			env:     badYAML,
			wantErr: []string{"kubeconfig file " + badYAML, "not a valid kubeconfig"},
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			isolate(t)
			if tc.env != "" {
				t.Setenv("KUBECONFIG", tc.env)
			}
			err := tc.src.Validate()
			assertNoSecrets(t, err)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestEndpoint(t *testing.T) {
	ca := testCA(t)
	dir := t.TempDir()
	writeFile(t, dir, "ca.pem", string(ca))
	file := writeFile(t, dir, "config", kubeconfigYAML(ca, "c1"))
	notPEM := writeFile(t, dir, "notpem", strings.Replace(kubeconfigYAML(ca, "c1"),
		base64.StdEncoding.EncodeToString(ca), base64.StdEncoding.EncodeToString([]byte("junk")), 1))
	noCAFile := writeFile(t, t.TempDir(), "config", kubeconfigYAML(ca, "c2"))

	tests := map[string]struct {
		src        Source
		wantServer string
		wantCA     []byte
		wantErr    string
	}{
		"inline CA data": {src: Source{Kubeconfig: kubeconfigYAML(ca, "c1")}, wantServer: "https://127.0.0.1:6443", wantCA: ca},
		"CA file resolved next to the kubeconfig": {src: Source{File: file, Context: "c2"}, wantServer: "https://127.0.0.2:6443", wantCA: ca},
		"no CA at all":               {src: Source{File: file, Context: "c3"}, wantServer: "https://k3.example.com"},
		"CA data that is not PEM":    {src: Source{File: notPEM}, wantErr: "holds no PEM certificate"},
		"a missing CA file is named": {src: Source{File: noCAFile}, wantErr: "read certificate-authority file"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			isolate(t)
			server, gotCA, err := tc.src.Endpoint()
			assertNoSecrets(t, err)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if server != tc.wantServer {
				t.Errorf("server %q, want %q", server, tc.wantServer)
			}
			if !bytes.Equal(gotCA, tc.wantCA) {
				t.Errorf("CA differs: got %d bytes, want %d", len(gotCA), len(tc.wantCA))
			}
		})
	}
}

func TestSetRateLimitDefaults(t *testing.T) {
	tests := map[string]struct {
		qps, wantQPS     float32
		burst, wantBurst int
	}{
		"a config without limits gets ours":   {wantQPS: QPS, wantBurst: Burst},
		"limits a config sets are kept":       {qps: 7, burst: 300, wantQPS: 7, wantBurst: 300},
		"each limit is defaulted on its own":  {burst: 3, wantQPS: QPS, wantBurst: 3},
		"a QPS alone keeps it, Burst is ours": {qps: 7, wantQPS: 7, wantBurst: Burst},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			cfg := &rest.Config{QPS: tc.qps, Burst: tc.burst}
			SetRateLimitDefaults(cfg)
			if cfg.QPS != tc.wantQPS || cfg.Burst != tc.wantBurst {
				t.Errorf("QPS %v Burst %v, want %v %v", cfg.QPS, cfg.Burst, tc.wantQPS, tc.wantBurst)
			}
		})
	}
}

func TestRESTConfig(t *testing.T) {
	isolate(t)
	ca := testCA(t)
	cfg, err := Source{Kubeconfig: kubeconfigYAML(ca, "c1")}.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://127.0.0.1:6443" || cfg.BearerToken != secretToken {
		t.Errorf("host %q, token set %v", cfg.Host, cfg.BearerToken == secretToken)
	}
	if cfg.QPS != QPS || cfg.Burst != Burst || cfg.Timeout != Timeout {
		t.Errorf("QPS %v Burst %v Timeout %v", cfg.QPS, cfg.Burst, cfg.Timeout)
	}
	if !bytes.Equal(cfg.CAData, ca) {
		t.Error("CA data not carried")
	}
	if !strings.HasSuffix(cfg.UserAgent, UserAgent) {
		t.Errorf("user agent %q", cfg.UserAgent)
	}

	cc, err := Source{Kubeconfig: kubeconfigYAML(ca, "c1"), Context: "c3"}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := cc.RawConfig()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cc.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if rc.Host != "https://k3.example.com" || raw.CurrentContext != "c1" {
		t.Errorf("ClientConfig did not select c3: host %q", rc.Host)
	}

	if _, err := (Source{Kubeconfig: kubeconfigYAML(ca, "c1"), Context: "nope"}).RESTConfig(); err == nil {
		t.Error("RESTConfig accepted an unknown context")
	}
}
