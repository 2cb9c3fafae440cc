package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"maps"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/pki"
)

// TestRootRotation rotates the root of a live 3-cluster mesh in the three
// documented steps, with Istio's own istiod running in every cluster, once for
// a generated root and once for a brought root whose key is encrypted. After
// every step each pair of clusters still trusts each other's certificates and
// every istiod reloaded cacerts without a restart; each preview is exactly the
// step, and one-step replacements are refused with nothing written.
func TestRootRotation(t *testing.T) {
	t.Parallel()
	w := world(t, 3)
	charts := testcharts.Directory(t)
	spec := meshSpec{kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 3), chartDirectory: charts, timeoutSeconds: 120}

	t.Run("generated", func(t *testing.T) {
		r := rotation{t: t, w: w, spec: spec, stackName: "ristio-rotate-generated"}
		r.startGenerated()
		r.refused("changing the signing root's key type", generatedRoots(pulumi.Map{"name": pulumi.String("default"), "keyType": pulumi.String("RSA")}),
			`root "default" cannot change in place`, "keyType", "add the new root as the second entry")
		r.refused("a new root that signs at once", generatedRoots(generatedRoot("next"), generatedRoot("default")),
			"not trusted by the clusters yet", "add the new root as the second entry")
		r.rotateGenerated()
		due := generatedRoots(generatedRoot("next"))
		due["renewBeforeHours"] = pulumi.Int(87600)
		r.renew(due)
	})

	t.Run("brought, encrypted key", func(t *testing.T) {
		oldRoot, oldKey := broughtRoot(t, "old-secret")
		newRoot, newKey := broughtRoot(t, "new-secret")
		oldEntry := pulumi.Map{"name": pulumi.String("default"), "keyType": pulumi.String("ECDSA"),
			"rootCertPem": pulumi.String(oldRoot), "rootKeyPem": pulumi.ToSecret(pulumi.String(oldKey))}
		newEntry := pulumi.Map{"name": pulumi.String("v2"), "keyType": pulumi.String("ECDSA"),
			"rootCertPem": pulumi.String(newRoot), "rootKeyPem": pulumi.ToSecret(pulumi.String(newKey)), "password": pulumi.ToSecret(pulumi.String("new-secret"))}
		pw := pulumi.ToSecret(pulumi.String("old-secret"))
		shorthand := pulumi.Map{"keyType": pulumi.String("ECDSA"), "password": pw,
			"rootCertPem": pulumi.String(oldRoot), "rootKeyPem": pulumi.ToSecret(pulumi.String(oldKey))}
		listed := func(roots ...pulumi.Map) pulumi.Map { return pulumi.Map{"password": pw, "roots": rootArray(roots)} }
		r := rotation{t: t, w: w, spec: spec, stackName: "ristio-rotate-brought"}
		r.start(shorthand, listed(oldEntry))
		r.refused("replacing the brought root in place", pulumi.Map{"keyType": pulumi.String("ECDSA"), "password": pulumi.ToSecret(pulumi.String("new-secret")),
			"rootCertPem": pulumi.String(newRoot), "rootKeyPem": pulumi.ToSecret(pulumi.String(newKey))},
			`root "default" cannot change in place`, "rootCertPem")
		r.steps(listed(oldEntry, newEntry), listed(newEntry, oldEntry), listed(newEntry), "mesh-root-ca-v2", "mesh-root-ca")
	})
}

// generatedRoot is an entry of certificate.roots that ristio generates
// (ECDSA: fast).
func generatedRoot(name string) pulumi.Map {
	return pulumi.Map{"name": pulumi.String(name), "keyType": pulumi.String("ECDSA")}
}

// generatedRoots is the certificate input that lists roots, signer first,
// with the SAN suffix of meshProgram's default certificate.
func generatedRoots(roots ...pulumi.Map) pulumi.Map {
	return pulumi.Map{"sanSuffix": pulumi.String("mesh1.example"), "roots": rootArray(roots)}
}

// startGenerated brings the mesh up on a generated root given by the
// shorthand fields, then moves it to the equivalent roots: [default].
func (r *rotation) startGenerated() {
	shorthand := pulumi.Map{"keyType": pulumi.String("ECDSA"), "sanSuffix": pulumi.String("mesh1.example")}
	r.start(shorthand, generatedRoots(generatedRoot("default")))
}

// rotateGenerated rotates a mesh started by startGenerated from the root
// "default" to a new generated root "next", in the three documented steps.
func (r *rotation) rotateGenerated() {
	old, next := generatedRoot("default"), generatedRoot("next")
	r.steps(generatedRoots(old, next), generatedRoots(next, old), generatedRoots(next), "mesh-root-ca-next", "mesh-root-ca")
}

func rootArray(roots []pulumi.Map) pulumi.Array {
	out := pulumi.Array{}
	for _, r := range roots {
		out = append(out, r)
	}
	return out
}

// broughtRoot is a root made outside ristio (as step or openssl would), its
// key encrypted with password.
func broughtRoot(t *testing.T, password string) (certPEM, keyPEM string) {
	t.Helper()
	root, err := pki.GenerateRoot(pki.RootOptions{Key: pki.KeySpec{Type: pki.ECDSA}, NotBefore: time.Now().Add(-time.Minute), TTL: 2000 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := pki.EncryptKey(root.Key, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	return string(root.CertPEM), string(enc)
}

// rotation drives one stack through a root rotation.
type rotation struct {
	t         *testing.T
	w         *localcluster.World
	spec      meshSpec
	stackName string
	stack     auto.Stack
	istiods   map[string]map[string]int32 // cluster → pod → restarts, at start
}

// start brings the mesh up on the shorthand certificate, then checks that the
// equivalent one-entry roots list previews as no change.
func (r *rotation) start(shorthand, listed pulumi.Map) {
	t := r.t
	r.spec.certificate = shorthand
	r.stack = pulumitest.InlineStack(t, r.stackName, meshProgram(r.spec))
	t.Cleanup(func() { _, _ = r.stack.Destroy(context.Background()) })
	pulumitest.Up(t, r.stack)
	r.istiods = r.istiodRestarts()
	r.spec.certificate = listed
	setProgram(t, &r.stack, r.spec)
	if got := previewSteps(t, r.stack); len(got) != 0 {
		t.Fatalf("moving from the shorthand to roots: [default] previews %v, want no change", got)
	}
	pulumitest.Up(t, r.stack)
}

// refused checks that certificate makes preview (and up) fail naming want,
// with no cluster's cacerts touched.
func (r *rotation) refused(what string, certificate pulumi.Map, want ...string) {
	t := r.t
	before := r.cacerts()
	spec := r.spec
	spec.certificate = certificate
	setProgram(t, &r.stack, spec)
	_, err := r.stack.Preview(context.Background())
	if err == nil {
		t.Fatalf("%s: preview succeeded, want a refusal", what)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: refusal does not mention %q:\n%s", what, w, headLines(err.Error(), 30))
		}
	}
	if i := strings.Index(err.Error(), "cannot change in place"); i >= 0 {
		t.Logf("%s refused: ...%s", what, headLines(err.Error()[i:], 2))
	}
	if _, err := r.stack.Up(context.Background()); err == nil {
		t.Fatalf("%s: up succeeded, want a refusal", what)
	}
	for name, s := range r.cacerts() {
		if s.ResourceVersion != before[name].ResourceVersion {
			t.Errorf("%s: %s's cacerts changed though the change was refused", what, name)
		}
	}
	// A refused up may have made the new root (in state only: Check refuses
	// before any intermediate is issued from it); going back removes it.
	setProgram(t, &r.stack, r.spec)
	if got := previewSteps(t, r.stack); len(got) > 1 {
		t.Errorf("%s: after the refused up, going back previews %v, want at most the new root's removal", what, got)
	}
	pulumitest.Up(t, r.stack)
}

// steps runs the three edits of a rotation from r.spec's roots.
func (r *rotation) steps(added, swapped, dropped pulumi.Map, newRoot, oldRoot string) {
	t := r.t
	all := names(r.spec.clusters)
	each := func(suffix, op string, want map[string]string) {
		for _, c := range all {
			want["mesh-"+c+suffix] = op
		}
	}
	start := r.cacerts()

	want := map[string]string{newRoot: "create"}
	each("-ca", "update", want)
	each("-cacerts", "update", want)
	each("-check", "update", want)
	r.step("1: add the new root second", added, want)
	for name, s := range r.cacerts() {
		if !bytes.Equal(s.Data["ca-cert.pem"], start[name].Data["ca-cert.pem"]) {
			t.Errorf("step 1 reissued %s's intermediate", name)
		}
		if n := len(certsIn(t, s.Data["root-cert.pem"])); n != 2 {
			t.Errorf("step 1: %s's root-cert.pem holds %d roots, want 2", name, n)
		}
	}

	want = map[string]string{}
	each("-ca", "replace", want)
	each("-cacerts", "update", want)
	each("-check", "update", want)
	r.step("2: the new root signs", swapped, want)
	for name, s := range r.cacerts() {
		roots := certsIn(t, s.Data["root-cert.pem"])
		inter := parseCert(t, s.Data["ca-cert.pem"])
		if len(roots) != 2 || inter.CheckSignatureFrom(roots[0]) != nil {
			t.Errorf("step 2: %s's intermediate is not signed by the first of its %d roots", name, len(roots))
		}
	}

	want = map[string]string{oldRoot: "delete"}
	each("-ca", "update", want)
	each("-cacerts", "update", want)
	each("-check", "update", want)
	r.step("3: drop the old root", dropped, want)
	for name, s := range r.cacerts() {
		if n := len(certsIn(t, s.Data["root-cert.pem"])); n != 1 {
			t.Errorf("step 3: %s's root-cert.pem holds %d roots, want 1", name, n)
		}
	}
}

// step applies one edit: its preview must be exactly want, up must pass
// (verify included), a second preview must be empty, and the mesh must hold.
func (r *rotation) step(name string, certificate pulumi.Map, want map[string]string) {
	t := r.t
	r.spec.certificate = certificate
	setProgram(t, &r.stack, r.spec)
	if got := previewSteps(t, r.stack); !equalSteps(got, want) {
		t.Fatalf("step %s previews %v, want %v", name, got, want)
	}
	start := time.Now()
	res := pulumitest.Up(t, r.stack)
	t.Logf("step %s: up took %s", name, time.Since(start).Round(time.Millisecond))
	if got := previewSteps(t, r.stack); len(got) != 0 {
		t.Fatalf("after step %s a second preview shows %v", name, got)
	}
	all := names(r.spec.clusters)
	assertMeshStatus(t, res.Outputs, all)
	assertServedCertsChain(t, r.w, all)
	r.assertPairsTrust(name)
	r.assertDistributedRoots(name)
	if got := r.istiodRestarts(); !maps.EqualFunc(got, r.istiods, maps.Equal) {
		t.Errorf("step %s restarted istiod: pods and restarts %v, before %v", name, got, r.istiods)
	}
	expiry, _ := res.Outputs["intermediateExpiry"].Value.(map[string]any)
	for name, s := range r.cacerts() {
		if got, want := expiry[name], parseCert(t, s.Data["ca-cert.pem"]).NotAfter.UTC().Format(time.RFC3339); got != want {
			t.Errorf("intermediateExpiry[%s] = %v, want %s", name, got, want)
		}
	}
}

// assertPairsTrust: for every ordered pair (a, b), a workload certificate
// signed by a's current intermediate verifies against b's root-cert.pem.
func (r *rotation) assertPairsTrust(step string) {
	t := r.t
	secrets := r.cacerts()
	for a, sa := range secrets {
		leaf := workloadCert(t, sa.Data["ca-cert.pem"], sa.Data["ca-key.pem"])
		inter := x509.NewCertPool()
		inter.AppendCertsFromPEM(sa.Data["ca-cert.pem"])
		for b, sb := range secrets {
			roots := x509.NewCertPool()
			roots.AppendCertsFromPEM(sb.Data["root-cert.pem"])
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Errorf("step %s: a certificate from %s's intermediate does not verify against %s's root-cert.pem: %v", step, a, b, err)
			}
		}
	}
}

// assertDistributedRoots: every istiod hands workloads (istio-ca-root-cert in
// istio-system, written by istiod itself) exactly the roots of its cacerts:
// it loaded the new root-cert.pem.
func (r *rotation) assertDistributedRoots(step string) {
	t := r.t
	for name, s := range r.cacerts() {
		cm, err := r.w.Cluster(name).Client.CoreV1().ConfigMaps(istioNS).Get(context.Background(), "istio-ca-root-cert", metav1.GetOptions{})
		if err != nil {
			t.Errorf("step %s: %s: istio-ca-root-cert: %v", step, name, err)
			continue
		}
		if !pki.SameCertificates([]byte(cm.Data["root-cert.pem"]), s.Data["root-cert.pem"]) {
			t.Errorf("step %s: %s's istiod distributes %d root(s), its cacerts hold %d", step, name,
				len(certsIn(t, []byte(cm.Data["root-cert.pem"]))), len(certsIn(t, s.Data["root-cert.pem"])))
		}
	}
}

// workloadCert signs a short-lived leaf with an intermediate, as istiod signs
// a workload's certificate.
func workloadCert(t *testing.T, caCertPEM, caKeyPEM []byte) *x509.Certificate {
	t.Helper()
	ca := parseCert(t, caCertPEM)
	block, _ := pem.Decode(caKeyPEM)
	if block == nil {
		t.Fatal("ca-key.pem holds no PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("ca-key.pem: %v", err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "workload"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &leafKey.PublicKey, key.(crypto.Signer))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func certsIn(t *testing.T, pemData []byte) []*x509.Certificate {
	t.Helper()
	certs, err := pki.Certificates(pemData)
	if err != nil {
		t.Fatal(err)
	}
	return certs
}

// cacerts reads every cluster's cacerts secret.
func (r *rotation) cacerts() map[string]*cacertsSecret {
	out := map[string]*cacertsSecret{}
	for _, c := range r.spec.clusters {
		s, err := r.w.Cluster(c.name).Client.CoreV1().Secrets(istioNS).Get(context.Background(), "cacerts", metav1.GetOptions{})
		if err != nil {
			r.t.Fatalf("%s: cacerts: %v", c.name, err)
		}
		out[c.name] = &cacertsSecret{ResourceVersion: s.ResourceVersion, Data: s.Data}
	}
	return out
}

type cacertsSecret struct {
	ResourceVersion string
	Data            map[string][]byte
}

// istiodRestarts is every istiod pod with its restart count, by cluster.
func (r *rotation) istiodRestarts() map[string]map[string]int32 {
	out := map[string]map[string]int32{}
	for _, c := range r.spec.clusters {
		pods, err := r.w.Cluster(c.name).Client.CoreV1().Pods(istioNS).List(context.Background(), metav1.ListOptions{LabelSelector: "app=istiod"})
		if err != nil {
			r.t.Fatal(err)
		}
		out[c.name] = map[string]int32{}
		for _, p := range pods.Items {
			var restarts int32
			for _, cs := range p.Status.ContainerStatuses {
				restarts += cs.RestartCount
			}
			out[c.name][p.Name] = restarts
		}
	}
	return out
}

// renew moves renewBeforeHours past the intermediates' whole life, so every
// one is due: the preview warns naming each cluster and the date and shows
// only the reissue, and up reissues each from the signing root, which every
// istiod reloads.
func (r *rotation) renew(certificate pulumi.Map) {
	t := r.t
	before := r.cacerts()
	r.spec.certificate = certificate
	setProgram(t, &r.stack, r.spec)
	out := pulumitest.Preview(t, r.stack).StdOut
	for name, s := range before {
		date := parseCert(t, s.Data["ca-cert.pem"]).NotAfter.UTC().Format(time.RFC3339)
		if want := "cluster " + name + ": intermediate CA expires " + date + " and is due for renewal"; !strings.Contains(out, want) {
			t.Errorf("renewal preview lacks the warning %q:\n%s", want, out)
		}
	}
	want := map[string]string{}
	for _, c := range names(r.spec.clusters) {
		want["mesh-"+c+"-ca"], want["mesh-"+c+"-cacerts"], want["mesh-"+c+"-check"] = "replace", "update", "update"
	}
	if got := previewSteps(t, r.stack); !equalSteps(got, want) {
		t.Fatalf("renewal previews %v, want %v", got, want)
	}
	start := time.Now()
	res := pulumitest.Up(t, r.stack)
	t.Logf("renewing 3 intermediates: up took %s", time.Since(start).Round(time.Millisecond))
	all := names(r.spec.clusters)
	assertMeshStatus(t, res.Outputs, all)
	assertServedCertsChain(t, r.w, all)
	for name, s := range r.cacerts() {
		if bytes.Equal(s.Data["ca-cert.pem"], before[name].Data["ca-cert.pem"]) {
			t.Errorf("renewal left %s's intermediate as it was", name)
		}
		if !bytes.Equal(s.Data["root-cert.pem"], before[name].Data["root-cert.pem"]) {
			t.Errorf("renewal changed %s's roots", name)
		}
	}
}
