package localcluster

import (
	"os"
	"path/filepath"
)

// clusterPKI is every key and certificate one cluster needs.
type clusterPKI struct {
	ca, serving, admin, controllerManager *keyPair
	kubeletServing, kubeletClient         *keyPair
	saKey, saPub                          []byte
}

func newClusterPKI(name, hostIP string) (*clusterPKI, error) {
	var p clusterPKI
	var err error
	if p.ca, err = newCA(name + "-ca"); err != nil {
		return nil, err
	}
	if p.serving, err = newServingCert(p.ca); err != nil {
		return nil, err
	}
	if p.admin, err = newClientCert(p.ca, "admin", "system:masters"); err != nil {
		return nil, err
	}
	// The bootstrap RBAC policy already grants this user what the
	// controller-manager needs, as in a real cluster.
	if p.controllerManager, err = newClientCert(p.ca, "system:kube-controller-manager"); err != nil {
		return nil, err
	}
	// The API server dials the kubelet emulator for port-forward and logs;
	// both sides verify the other against the cluster CA.
	if p.kubeletServing, err = newKubeletServingCert(p.ca, name+"-node", hostIP); err != nil {
		return nil, err
	}
	if p.kubeletClient, err = newClientCert(p.ca, "kube-apiserver-kubelet-client", "system:masters"); err != nil {
		return nil, err
	}
	if p.saKey, p.saPub, err = newServiceAccountKey(); err != nil {
		return nil, err
	}
	return &p, nil
}

// File names inside a cluster directory, shared by write and the flags.
const (
	caCertFile      = "ca.crt"
	servingCertFile = "apiserver.crt"
	servingKeyFile  = "apiserver.key"
	saKeyFile       = "sa.key"
	saPubFile       = "sa.pub"
	kubeletCertFile = "apiserver-kubelet-client.crt"
	kubeletKeyFile  = "apiserver-kubelet-client.key"
)

// write puts the files the binaries read into dir; client credentials travel
// inside kubeconfigs instead.
func (p *clusterPKI) write(dir string) error {
	files := map[string][]byte{
		caCertFile:      p.ca.certPEM,
		servingCertFile: p.serving.certPEM,
		servingKeyFile:  p.serving.keyPEM,
		saKeyFile:       p.saKey,
		saPubFile:       p.saPub,
		kubeletCertFile: p.kubeletClient.certPEM,
		kubeletKeyFile:  p.kubeletClient.keyPEM,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}
