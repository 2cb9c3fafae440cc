package provider_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/ristio/pulumi-ristio/pkg/pki"
	"github.com/ristio/pulumi-ristio/provider"
)

// clock is a settable Deps.Now for renewal tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newServer(t *testing.T, deps provider.Deps) integration.Server {
	t.Helper()
	prov, err := provider.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	s, err := integration.NewServer(context.Background(), provider.Name, semver.MustParse("0.1.0"), integration.WithProvider(prov))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testDeps(c *clock) provider.Deps {
	d := provider.DefaultDeps()
	d.Now = c.Now
	return d
}

func urn(typ, name string) presource.URN {
	return presource.URN("urn:pulumi:test::test::ristio:index:" + typ + "::" + name)
}

func str(s string) property.Value { return property.New(s) }

func TestSchemaMarksSecrets(t *testing.T) {
	s := newServer(t, testDeps(&clock{now: time.Now()}))
	resp, err := s.GetSchema(p.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Name      string `json:"name"`
		Resources map[string]struct {
			IsComponent     bool                       `json:"isComponent"`
			InputProperties map[string]json.RawMessage `json:"inputProperties"`
			Properties      map[string]json.RawMessage `json:"properties"`
		} `json:"resources"`
		Types map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"types"`
	}
	if err := json.Unmarshal([]byte(resp.Schema), &schema); err != nil {
		t.Fatal(err)
	}
	secret := func(raw json.RawMessage) bool {
		var prop struct {
			Secret bool `json:"secret"`
		}
		_ = json.Unmarshal(raw, &prop)
		return prop.Secret
	}
	mustBeSecret := map[string][]string{
		"ristio:index:RootCA":    {"password", "rootCertPem", "rootKeyPem", "keyPem"},
		"ristio:index:ClusterCA": {"rootKeyPem", "rootKeyPassword", "keyPem"},
		"ristio:index:CACerts":   {"caKeyPem"},
	}
	for typ, props := range mustBeSecret {
		res, ok := schema.Resources[typ]
		if !ok {
			t.Fatalf("schema lacks %s", typ)
		}
		for _, prop := range props {
			raw, ok := res.Properties[prop]
			if !ok {
				raw = res.InputProperties[prop]
			}
			if !secret(raw) {
				t.Errorf("%s.%s is not marked secret", typ, prop)
			}
		}
	}
	mesh := schema.Resources["ristio:index:MultiClusterMesh"]
	if !mesh.IsComponent {
		t.Errorf("MultiClusterMesh is not a component")
	}
	if !secret(mesh.Properties["rootKeyPem"]) {
		t.Errorf("MultiClusterMesh.rootKeyPem output is not secret")
	}
	for _, typ := range []string{"ristio:index:ClusterConnection", "ristio:index:MeshCluster"} {
		if !secret(schema.Types[typ].Properties["kubeconfig"]) {
			t.Errorf("%s.kubeconfig is not secret", typ)
		}
	}
	for _, typ := range []string{"ristio:index:RootCA", "ristio:index:ClusterCA", "ristio:index:CACerts", "ristio:index:IstioControlPlane", "ristio:index:EastWestGateway", "ristio:index:RemoteSecret", "ristio:index:HelloWorld"} {
		if _, ok := schema.Resources[typ]; !ok {
			t.Errorf("schema lacks resource %s", typ)
		}
	}
}

func TestRootAndClusterCA(t *testing.T) {
	c := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	s := newServer(t, testDeps(c))

	rootInputs := property.NewMap(map[string]property.Value{
		"keyType":       str("ECDSA"),
		"validityHours": property.New(1000.0),
		"password":      property.New("hunter2").WithSecret(true),
	})
	check, err := s.Check(p.CheckRequest{Urn: urn("RootCA", "root"), Inputs: rootInputs})
	if err != nil || len(check.Failures) > 0 {
		t.Fatalf("check: %v %v", err, check.Failures)
	}
	preview, err := s.Create(p.CreateRequest{Urn: urn("RootCA", "root"), Properties: check.Inputs, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !preview.Properties.Get("certPem").IsComputed() {
		t.Errorf("preview certPem = %v, want unknown", preview.Properties.Get("certPem"))
	}
	root, err := s.Create(p.CreateRequest{Urn: urn("RootCA", "root"), Properties: check.Inputs})
	if err != nil {
		t.Fatal(err)
	}
	keyPem := root.Properties.Get("keyPem")
	if !keyPem.Secret() {
		t.Errorf("keyPem is not secret")
	}
	if !strings.Contains(keyPem.AsString(), "ENCRYPTED PRIVATE KEY") {
		t.Errorf("root key with a password is not encrypted PKCS#8")
	}

	caInputs := property.NewMap(map[string]property.Value{
		"cluster":         str("cluster1"),
		"rootCertPem":     root.Properties.Get("certPem"),
		"rootKeyPem":      keyPem,
		"rootKeyPassword": property.New("hunter2").WithSecret(true),
		"keyType":         str("ECDSA"),
		"validityHours":   property.New(1000.0),
	})
	caCheck, err := s.Check(p.CheckRequest{Urn: urn("ClusterCA", "ca"), Inputs: caInputs})
	if err != nil || len(caCheck.Failures) > 0 {
		t.Fatalf("check: %v %v", err, caCheck.Failures)
	}
	ca, err := s.Create(p.CreateRequest{Urn: urn("ClusterCA", "ca"), Properties: caCheck.Inputs})
	if err != nil {
		t.Fatal(err)
	}
	rootCert := parseCert(t, root.Properties.Get("certPem").AsString())
	caCert := parseCert(t, ca.Properties.Get("certPem").AsString())
	pool := x509.NewCertPool()
	pool.AddCert(rootCert)
	if _, err := caCert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: c.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("intermediate does not chain to the root: %v", err)
	}
	if caCert.NotAfter.After(rootCert.NotAfter) {
		t.Errorf("intermediate outlives the root")
	}

	diff := func() p.DiffResponse {
		t.Helper()
		d, err := s.Diff(p.DiffRequest{ID: ca.ID, Urn: urn("ClusterCA", "ca"), State: ca.Properties, Inputs: caCheck.Inputs, OldInputs: caCheck.Inputs})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := diff(); d.HasChanges {
		t.Errorf("fresh intermediate diffs: %v", d.DetailedDiff)
	}
	// A renewal window wider than what is left makes it due at once.
	wide := caCheck.Inputs.Set("renewBeforeHours", property.New(1000.0))
	if d, err := s.Diff(p.DiffRequest{ID: ca.ID, Urn: urn("ClusterCA", "ca"), State: ca.Properties, Inputs: wide, OldInputs: caCheck.Inputs}); err != nil || d.DetailedDiff["notAfter"].Kind != p.UpdateReplace {
		t.Errorf("renewBeforeHours widened past the intermediate's life: diff %v (%v), want a replacement", d.DetailedDiff, err)
	}
	// A new root password re-encrypts the exported key; the root stays.
	newInputs := check.Inputs.Set("password", property.New("correct horse").WithSecret(true))
	rd, err := s.Diff(p.DiffRequest{ID: root.ID, Urn: urn("RootCA", "root"), State: root.Properties, Inputs: newInputs, OldInputs: check.Inputs})
	if err != nil {
		t.Fatal(err)
	}
	if rd.DetailedDiff["password"].Kind != p.Update || len(rd.DetailedDiff) != 1 {
		t.Fatalf("password change: %v, want an update of password only", rd.DetailedDiff)
	}
	updated, err := s.Update(p.UpdateRequest{ID: root.ID, Urn: urn("RootCA", "root"), State: root.Properties, Inputs: newInputs, OldInputs: check.Inputs})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Properties.Get("certPem").AsString() != root.Properties.Get("certPem").AsString() {
		t.Errorf("a password change replaced the root certificate")
	}
	if _, err := pki.ParseCA([]byte(updated.Properties.Get("certPem").AsString()), []byte(updated.Properties.Get("keyPem").AsString()), []byte("correct horse")); err != nil {
		t.Errorf("the re-encrypted key does not open with the new password: %v", err)
	}
	if _, err := pki.ParseCA([]byte(updated.Properties.Get("certPem").AsString()), []byte(updated.Properties.Get("keyPem").AsString()), []byte("hunter2")); err == nil {
		t.Errorf("the re-encrypted key still opens with the old password")
	}

	c.Advance(850 * time.Hour) // past 80% of 1000h
	d := diff()
	if !d.HasChanges || d.DetailedDiff["notAfter"].Kind != p.UpdateReplace {
		t.Errorf("intermediate at 85%% of its life: diff %v, want a replacement", d.DetailedDiff)
	}
}

func parseCert(t *testing.T, pemText string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		t.Fatalf("no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestCheckRejectsBadInput(t *testing.T) {
	s := newServer(t, testDeps(&clock{now: time.Now()}))
	conn := func(name string) property.Value {
		return property.New(property.NewMap(map[string]property.Value{"name": str(name), "kubeconfigFile": str("/nonexistent/kubeconfig")}))
	}
	tests := map[string]struct {
		typ       string
		inputs    map[string]property.Value
		wantField string
		wantText  string
	}{
		"a root with only its key": {
			typ:       "RootCA",
			inputs:    map[string]property.Value{"rootKeyPem": str("-----BEGIN PRIVATE KEY-----")},
			wantField: "rootCertPem", wantText: "certificate with its key",
		},
		"a trusted root that is not a certificate": {
			typ:       "RootCA",
			inputs:    map[string]property.Value{"rootCertPem": str("-----BEGIN CERTIFICATE-----")},
			wantField: "rootCertPem", wantText: "supplied root rejected",
		},
		"a non-positive validity": {
			typ:       "RootCA",
			inputs:    map[string]property.Value{"validityHours": property.New(0.0)},
			wantField: "validityHours", wantText: "positive",
		},
		"an unknown key type": {
			typ:       "RootCA",
			inputs:    map[string]property.Value{"keyType": str("DSA")},
			wantField: "keyType", wantText: "RSA or ECDSA",
		},
		"an unreadable kubeconfig file": {
			typ:       "CACerts",
			inputs:    map[string]property.Value{"cluster": conn("cluster1"), "caCertPem": str("x"), "caKeyPem": str("x"), "rootCertPem": str("x"), "certChainPem": str("x")},
			wantField: "cluster", wantText: "/nonexistent/kubeconfig",
		},
		"a cluster name that is not a DNS label": {
			typ:       "HelloWorld",
			inputs:    map[string]property.Value{"cluster": conn("Cluster_1"), "sampleVersion": str("v1")},
			wantField: "cluster.name", wantText: "DNS-1123",
		},
		"a malformed Istio version": {
			typ:       "IstioControlPlane",
			inputs:    map[string]property.Value{"cluster": conn("cluster1"), "meshId": str("m"), "network": str("n"), "istioVersion": str("1.28")},
			wantField: "istioVersion", wantText: `cluster "cluster1"`,
		},
		"a chart repository that is not a URL": {
			typ:       "EastWestGateway",
			inputs:    map[string]property.Value{"cluster": conn("cluster1"), "network": str("n"), "istioVersion": str("1.28.1"), "chartRepository": str("ftp:/charts")},
			wantField: "chartRepository", wantText: "ftp:/charts",
		},
		"a MeshCheck of an unknown data plane": {
			typ:       "MeshCheck",
			inputs:    map[string]property.Value{"cluster": conn("cluster1"), "peers": property.New([]property.Value{}), "dataplane": str("envoy")},
			wantField: "dataplane", wantText: `cluster "cluster1": must be sidecar or ambient, got "envoy"`,
		},
		"a remote API server that is not https": {
			typ:       "RemoteSecret",
			inputs:    map[string]property.Value{"source": conn("a"), "target": conn("b"), "remoteApiServer": str("http://10.0.0.1")},
			wantField: "remoteApiServer", wantText: `cluster "a"`,
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			resp, err := s.Check(p.CheckRequest{Urn: urn(tc.typ, "x"), Inputs: property.NewMap(tc.inputs)})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range resp.Failures {
				if f.Property == tc.wantField && strings.Contains(f.Reason, tc.wantText) {
					return
				}
			}
			t.Fatalf("failures %+v, want one on %s mentioning %q", resp.Failures, tc.wantField, tc.wantText)
		})
	}
}

// TestRootsChangeOnlyByRotation drives the refusals of a one-step root
// replacement the way the engine does on preview: Check with the old inputs.
func TestRootsChangeOnlyByRotation(t *testing.T) {
	c := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	s := newServer(t, testDeps(c))
	gen := property.NewMap(map[string]property.Value{"keyType": str("ECDSA"), "validityHours": property.New(1000.0)})
	check := func(typ string, old, new property.Map) []p.CheckFailure {
		t.Helper()
		resp, err := s.Check(p.CheckRequest{Urn: urn(typ, "mesh-root-ca-blue"), State: old, Inputs: new})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Failures
	}
	if f := check("RootCA", gen, gen.Set("password", property.New("pw").WithSecret(true))); len(f) > 0 {
		t.Errorf("a new password is refused: %v", f)
	}
	if f := check("RootCA", gen, gen.Set("sanSuffix", str("mesh.example"))); len(f) > 0 {
		t.Errorf("a new sanSuffix is refused: %v", f)
	}
	for field, v := range map[string]property.Value{"keyType": str("RSA"), "validityHours": property.New(2000.0)} {
		f := check("RootCA", gen, gen.Set(field, v))
		if len(f) != 1 || f[0].Property != field || !strings.Contains(f[0].Reason, `root "blue" cannot change in place`) || !strings.Contains(f[0].Reason, "add the new root as the second entry") {
			t.Errorf("changing %s of a generated root: failures %v, want one naming %s, the root and the three steps", field, f, field)
		}
	}

	// A brought root is its certificate: giving its key later keeps it.
	a := newRoot(t, c)
	b := newRoot(t, c)
	trusted := property.NewMap(map[string]property.Value{"rootCertPem": str(string(b.CertPEM))})
	if f := check("RootCA", property.Map{}, trusted); len(f) > 0 {
		t.Fatalf("a trusted root without its key: %v", f)
	}
	withKey := trusted.Set("rootKeyPem", str(string(b.KeyPEM)))
	if f := check("RootCA", trusted, withKey); len(f) > 0 {
		t.Errorf("giving a trusted root its key is refused: %v", f)
	}
	if f := check("RootCA", withKey, withKey.Set("rootCertPem", str(string(a.CertPEM))).Set("rootKeyPem", str(string(a.KeyPEM)))); len(f) != 1 || f[0].Property != "rootCertPem" {
		t.Errorf("replacing a brought root: failures %v, want one on rootCertPem", f)
	}

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(minimalKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	// CACerts and ClusterCA both see the signer and the other trusted roots,
	// under their own names; both refuse a step that breaks mTLS.
	inputs := map[string]func(signer []byte, extras ...[]byte) property.Map{
		"CACerts": func(signer []byte, extras ...[]byte) property.Map {
			m := map[string]property.Value{
				"cluster":   property.New(property.NewMap(map[string]property.Value{"name": str("cluster1"), "kubeconfigFile": str(kubeconfig)})),
				"caCertPem": str("x"), "caKeyPem": str("x"), "certChainPem": str("x"),
				"rootCertPem": str(string(signer)),
			}
			if len(extras) > 0 {
				m["extraRootCertPems"] = pemArray(extras)
			}
			return property.NewMap(m)
		},
		"ClusterCA": func(signer []byte, extras ...[]byte) property.Map {
			m := map[string]property.Value{"cluster": str("cluster1"), "rootCertPem": str(string(signer)), "rootKeyPem": str("x"), "keyType": str("ECDSA")}
			if len(extras) > 0 {
				m["trustedRootCertPems"] = pemArray(extras)
			}
			return property.NewMap(m)
		},
	}
	for typ, in := range inputs {
		steps := []struct {
			name     string
			old, new property.Map
			refused  string
		}{
			{"step 1", in(a.CertPEM), in(a.CertPEM, b.CertPEM), ""},
			{"step 2", in(a.CertPEM, b.CertPEM), in(b.CertPEM, a.CertPEM), ""},
			{"step 3", in(b.CertPEM, a.CertPEM), in(b.CertPEM), ""},
			{"one step", in(a.CertPEM), in(b.CertPEM), "not trusted by the clusters yet"},
			{"steps 2 and 3 at once", in(a.CertPEM, b.CertPEM), in(b.CertPEM), "stop being trusted"},
			{"a signer made in this update", in(a.CertPEM), in(a.CertPEM).Set("rootCertPem", property.New(property.Computed)), "created in this update"},
		}
		for _, st := range steps {
			f := check(typ, st.old, st.new)
			if typ == "CACerts" && st.name == "step 3" {
				// Dropping a root reads every cluster of the mesh first;
				// this one cannot be reached, so it cannot be shown ready.
				if len(f) != 1 || f[0].Property != "extraRootCertPems" || !strings.Contains(f[0].Reason, "clusters lag behind: cluster1 (cannot be read") || !strings.Contains(f[0].Reason, pki.Fingerprint(a.Cert)) {
					t.Errorf("CACerts: step 3 with its cluster unreachable: failures %v, want one naming cluster1 as lagging and the dropped root", f)
				}
				continue
			}
			if st.refused == "" && len(f) > 0 {
				t.Errorf("%s: %s refused: %v", typ, st.name, f)
			}
			if st.refused != "" && (len(f) != 1 || f[0].Property != "rootCertPem" || !strings.Contains(f[0].Reason, st.refused) || !strings.Contains(f[0].Reason, `cluster "cluster1"`)) {
				t.Errorf("%s: %s: failures %v, want one on rootCertPem naming cluster1 and %q", typ, st.name, f, st.refused)
			}
		}
	}
}

func pemArray(pems [][]byte) property.Value {
	var out []property.Value
	for _, p := range pems {
		out = append(out, str(string(p)))
	}
	return property.New(out)
}

func newRoot(t *testing.T, c *clock) *pki.CA {
	t.Helper()
	r, err := pki.GenerateRoot(pki.RootOptions{Key: pki.KeySpec{Type: pki.ECDSA}, NotBefore: c.Now(), TTL: 1000 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const minimalKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`

// TestMeshCheckReadOfAnUnreachableCluster: a refresh that cannot reach the
// cluster records why, in a state the engine can decode (every required
// output present), instead of failing the refresh.
func TestMeshCheckReadOfAnUnreachableCluster(t *testing.T) {
	s := newServer(t, testDeps(&clock{now: time.Now()}))
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(minimalKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	inputs := property.NewMap(map[string]property.Value{
		"cluster":        property.New(property.NewMap(map[string]property.Value{"name": str("cluster1"), "kubeconfigFile": str(kubeconfig)})),
		"peers":          property.New([]property.Value{}),
		"timeoutSeconds": property.New(5.0),
	})
	state := inputs.Set("status", property.New(map[string]property.Value{"cluster1": str("synced")})).
		Set("healthy", property.New(true)).Set("istiods", property.New([]property.Value{str("istiod-abc")}))
	resp, err := s.Read(p.ReadRequest{ID: "check", Urn: urn("MeshCheck", "check"), Properties: state, Inputs: inputs})
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if resp.Properties.Get("healthy").AsBool() || !resp.Properties.Get("istiods").IsArray() {
		t.Errorf("read of an unreachable cluster: %v", resp.Properties)
	}
	if reason := resp.Properties.Get("status").AsMap().Get("cluster1").AsString(); !strings.Contains(reason, "cluster1") {
		t.Errorf("status says %q, want why cluster1 cannot be checked", reason)
	}
}

// TestCheckMeshEndsWithinItsTimeout: checkMesh against clusters whose API
// server accepts connections and never answers (a stalled server on
// loopback) returns, unhealthy, once timeoutSeconds has passed, saying so;
// without the bound it waits for each client's own timeouts, call after call.
func TestCheckMeshEndsWithinItsTimeout(t *testing.T) {
	kubeconfig := stalledKubeconfig(t)
	var clusters []property.Value
	for _, name := range []string{"cluster1", "cluster2", "cluster3"} {
		clusters = append(clusters, property.New(map[string]property.Value{"name": str(name), "kubeconfigFile": str(kubeconfig)}))
	}
	s := newServer(t, testDeps(&clock{now: time.Now()}))
	const timeout = 3 * time.Second
	start := time.Now()
	resp, err := s.Invoke(p.InvokeRequest{Token: "ristio:index:checkMesh", Args: property.NewMap(map[string]property.Value{
		"clusters":       property.New(clusters),
		"timeoutSeconds": property.New(timeout.Seconds()),
	})})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("checkMesh: %v", err)
	}
	t.Logf("checkMesh of 3 stalled clusters with timeoutSeconds 3 took %s", took.Round(10*time.Millisecond))
	if took > timeout+2*time.Second {
		t.Errorf("checkMesh took %s, beyond its timeout of %s", took, timeout)
	}
	if resp.Return.Get("healthy").AsBool() {
		t.Errorf("checkMesh of stalled clusters says healthy: %v", resp.Return)
	}
	var said []string
	for _, v := range resp.Return.Get("problems").AsArray().All {
		said = append(said, v.AsString())
	}
	if !strings.Contains(strings.Join(said, "\n"), "checkMesh stopped after") {
		t.Errorf("problems do not say the check ran out of time: %v", said)
	}
}

// stalledKubeconfig is a kubeconfig file whose API server, on loopback,
// accepts connections and never answers.
func stalledKubeconfig(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stalled := make(chan struct{})
	var conns sync.WaitGroup
	t.Cleanup(func() { close(stalled); l.Close(); conns.Wait() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { <-stalled; c.Close() })
		}
	}()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	config := strings.Replace(minimalKubeconfig, "https://127.0.0.1:1", "https://"+l.Addr().String(), 1)
	if err := os.WriteFile(kubeconfig, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

// TestReadEndsWithinItsTimeout: a refresh of a resource whose cluster
// accepts connections and never answers ends within the resource's
// timeoutSeconds, like its writes, with an error or a state saying so.
func TestReadEndsWithinItsTimeout(t *testing.T) {
	kubeconfig := stalledKubeconfig(t)
	cluster := property.New(map[string]property.Value{"name": str("cluster1"), "kubeconfigFile": str(kubeconfig)})
	peer := property.New(map[string]property.Value{"name": str("cluster2"), "kubeconfigFile": str(kubeconfig)})
	const timeout = 2 * time.Second
	withCluster := func(key string, extra map[string]property.Value) property.Map {
		m := map[string]property.Value{key: cluster, "timeoutSeconds": property.New(timeout.Seconds())}
		maps.Copy(m, extra)
		return property.NewMap(m)
	}
	for token, state := range map[string]property.Map{
		"CACerts":           withCluster("cluster", nil),
		"IstioControlPlane": withCluster("cluster", nil),
		"EastWestGateway":   withCluster("cluster", nil),
		"HelloWorld":        withCluster("cluster", nil),
		"RevisionTag":       withCluster("cluster", nil),
		"MeshCheck":         withCluster("cluster", nil),
		"RemoteSecret":      withCluster("target", map[string]property.Value{"source": peer}),
		"RemoteSecretSet": withCluster("target", map[string]property.Value{
			"sources": property.New(map[string]property.Value{"cluster2": property.New(map[string]property.Value{"cluster": peer})}),
			"secrets": property.New(map[string]property.Value{"cluster2": property.New(map[string]property.Value{
				"secretName": str("istio-remote-secret-cluster2"), "server": str(""), "tokenIssuedAt": str(""), "tokenExpiresAt": str(""),
				"appliedChecksum": str(""), "checksum": str(""),
			})}),
		}),
	} {
		t.Run(token, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, testDeps(&clock{now: time.Now()}))
			typ := "ristio:index:" + token
			start := time.Now()
			_, err := s.Read(p.ReadRequest{
				ID:         "x",
				Urn:        presource.CreateURN("r", typ, "", "proj", "stack"),
				Properties: state,
				Inputs:     state.Delete("secrets"),
			})
			took := time.Since(start)
			t.Logf("%s: refresh of a stalled cluster took %s (%v)", token, took.Round(10*time.Millisecond), err)
			if err != nil && strings.Contains(err.Error(), "decoding") {
				t.Fatalf("the test's state does not decode: %v", err)
			}
			if took > timeout+3*time.Second {
				t.Errorf("refresh took %s, beyond timeoutSeconds %s", took, timeout)
			}
		})
	}
}

// TestSchemaMarksPlainInputs: the component's scalar inputs that must be
// known when it is constructed are plain in the served schema, at any depth;
// those that may be another resource's output are not.
func TestSchemaMarksPlainInputs(t *testing.T) {
	s := newServer(t, testDeps(&clock{now: time.Now()}))
	resp, err := s.GetSchema(p.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	type prop struct {
		Plain bool `json:"plain"`
	}
	var schema struct {
		Resources map[string]struct {
			InputProperties map[string]prop `json:"inputProperties"`
		} `json:"resources"`
		Types map[string]struct {
			Properties map[string]prop `json:"properties"`
		} `json:"types"`
	}
	if err := json.Unmarshal([]byte(resp.Schema), &schema); err != nil {
		t.Fatal(err)
	}
	mesh := schema.Resources["ristio:index:MultiClusterMesh"].InputProperties
	if !mesh["meshId"].Plain || !mesh["chartDirectory"].Plain {
		t.Errorf("meshId or chartDirectory may be an output: %+v", mesh)
	}
	// Go programs generated from plain objects and lists of them would not
	// parse (see servePlainInputs).
	for _, name := range []string{"clusters", "certificate", "revisions"} {
		if mesh[name].Plain {
			t.Errorf("MultiClusterMesh.%s is plain", name)
		}
	}
	want := map[string]map[string]bool{
		"ristio:index:MeshCluster":     {"name": true, "kubeconfigFile": true, "context": true, "network": true, "istiodValues": false, "kubeconfig": false, "remoteApiServer": false, "gatewayAddress": false},
		"ristio:index:MeshCertificate": {"keyType": true, "roots": false, "rootCertPem": false, "rootKeyPem": false, "password": false},
		"ristio:index:MeshRoot":        {"name": true, "rootKeyPem": false},
		// A custom resource's inputs are resolved by the engine before
		// Check: they stay inputs.
		"ristio:index:ClusterConnection": {"name": false, "kubeconfigFile": false},
	}
	for typ, props := range want {
		for name, plain := range props {
			got, ok := schema.Types[typ].Properties[name]
			if !ok {
				t.Errorf("schema lacks %s.%s", typ, name)
			} else if got.Plain != plain {
				t.Errorf("%s.%s plain = %v, want %v", typ, name, got.Plain, plain)
			}
		}
	}
}
