package localcluster

import (
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes one context per REST config (client certificate or
// bearer token), with cluster, user and context all named by the map key.
func writeKubeconfig(path string, configs map[string]*rest.Config) error {
	kc := clientcmdapi.NewConfig()
	for name, cfg := range configs {
		kc.Clusters[name] = &clientcmdapi.Cluster{
			Server:                   cfg.Host,
			CertificateAuthorityData: cfg.CAData,
		}
		kc.AuthInfos[name] = &clientcmdapi.AuthInfo{
			ClientCertificateData: cfg.CertData,
			ClientKeyData:         cfg.KeyData,
			Token:                 cfg.BearerToken,
		}
		kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
		if kc.CurrentContext == "" || name < kc.CurrentContext {
			kc.CurrentContext = name
		}
	}
	return clientcmd.WriteToFile(*kc, path)
}
