package localcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Options says how many clusters to start and where their files live.
type Options struct {
	// N is the number of clusters, named cluster1..clusterN.
	N int
	// BinDir holds etcd, kube-apiserver, kube-controller-manager and
	// pilot-discovery (which the kubelet emulator runs for istiod pods). Default:
	// $RISTIO_TOOLS_BIN, else <repo>/.tools/bin.
	BinDir string
	// WorkDir receives the kubeconfig and one data directory per cluster.
	// Default: a new temporary directory, removed by Stop.
	WorkDir string
	// Logf receives emulator errors and other diagnostics. Default: discard.
	Logf func(format string, args ...any)
	// Lean runs each kube-controller-manager with only leanControllers, for
	// benchmarks of many clusters on one machine.
	Lean bool
}

// leanControllers keep what ristio and istiod use working: Deployments roll
// out (deployment, replicaset), deletes cascade (garbage collector, namespace),
// service accounts, their legacy token secrets (istioctl's remote secrets,
// readerTokenMode serviceAccountSecret) and kube-root-ca.crt appear, and
// Services get endpoints. TokenRequest is the API server's own. Left out:
// node lifecycle and IPAM, jobs, cron jobs, stateful and daemon sets,
// autoscaling, disruption budgets, volumes, certificates, quotas, pod GC.
var leanControllers = []string{
	"deployment-controller", "replicaset-controller",
	"garbage-collector-controller", "namespace-controller",
	"serviceaccount-controller", "serviceaccount-token-controller", "root-ca-certificate-publisher-controller",
	"endpoints-controller", "endpointslice-controller",
}

// binaries the world needs, in start order.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", pilot.binary}

// resolveBinDir finds the tool directory and checks every binary is there, so a
// missing `make tools` fails with a message that says what to do.
func resolveBinDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv("RISTIO_TOOLS_BIN")
	}
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", fmt.Errorf("localcluster: %w; set RISTIO_TOOLS_BIN or run `make tools`", err)
		}
		dir = filepath.Join(root, ".tools", "bin")
	}
	for _, name := range binaries {
		path := filepath.Join(dir, name)
		info, err := os.Stat(path)
		if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			return "", fmt.Errorf("localcluster: %s not found in %s: run `make tools` first", name, dir)
		}
	}
	return dir, nil
}

// repoRoot walks up from the working directory to the directory holding
// tools/versions.env; tests run in their package directory, commands at the root.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "versions.env")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (tools/versions.env) not found above the working directory")
		}
		dir = parent
	}
}
