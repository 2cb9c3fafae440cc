package kubeconfig

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestBuildRemote(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	got, err := BuildRemote("cluster1", "https://10.0.0.1:6443", ca, "tok.en-1")
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ` + base64.StdEncoding.EncodeToString(ca) + `
    server: https://10.0.0.1:6443
  name: cluster1
contexts:
- context:
    cluster: cluster1
    user: cluster1
  name: cluster1
current-context: cluster1
kind: Config
users:
- name: cluster1
  user:
    token: tok.en-1
`
	if string(got) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	for range 5 {
		again, _ := BuildRemote("cluster1", "https://10.0.0.1:6443", ca, "tok.en-1")
		if !bytes.Equal(got, again) {
			t.Fatal("output is not deterministic")
		}
	}
}

func TestBuildRemoteRefuses(t *testing.T) {
	tests := map[string]struct {
		cluster, server, token string
		wantErr                string
	}{
		"an empty cluster name":      {cluster: "", server: "https://a", token: secretToken, wantErr: "must not be empty"},
		"a cluster name with dots":   {cluster: "a.b", server: "https://a", token: secretToken, wantErr: "DNS-1123"},
		"an empty server":            {cluster: "c1", server: "", token: secretToken, wantErr: "server is empty"},
		"a server without a scheme":  {cluster: "c1", server: "10.0.0.1:6443", token: secretToken, wantErr: "not an http(s) URL"},
		"an empty token":             {cluster: "c1", server: "https://a", token: "", wantErr: "token is empty"},
		"a token with a line break":  {cluster: "c1", server: "https://a", token: secretToken + "\n", wantErr: "token contains whitespace"},
		"a token with a space in it": {cluster: "c1", server: "https://a", token: "Bearer " + secretToken, wantErr: "token contains whitespace"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			_, err := BuildRemote(tc.cluster, tc.server, nil, tc.token)
			assertNoSecrets(t, err)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseRemote(t *testing.T) {
	ca := testCA(t)
	built, err := BuildRemote("cluster1", "https://10.0.0.1:6443", ca, secretToken)
	if err != nil {
		t.Fatal(err)
	}
	noCA, err := BuildRemote("cluster1", "https://10.0.0.1:6443", nil, secretToken)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		data    string
		cluster string
		wantCA  []byte
		wantErr string
	}{
		"what BuildRemote wrote reads back": {data: string(built), cluster: "cluster1", wantCA: ca},
		"no CA reads back as none":          {data: string(noCA), cluster: "cluster1"},
		"another cluster's kubeconfig is refused": {
			data: string(built), cluster: "cluster2", wantErr: `current-context is "cluster1", want "cluster2"`,
		},
		"empty data is refused": {data: "", cluster: "cluster1", wantErr: "empty"},
		"YAML that does not parse is refused without quoting it": {
			data: "users: [" + secretToken, cluster: "cluster1", wantErr: "not a valid kubeconfig",
		},
		"a user without a token is refused": {
			data:    strings.Replace(string(built), "token: "+secretToken, "client-key-data: "+base64.StdEncoding.EncodeToString([]byte(secretKey)), 1),
			cluster: "cluster1", wantErr: `user "cluster1" has no bearer token`,
		},
		"a context naming a missing cluster is refused": {
			data:    strings.Replace(string(built), "    cluster: cluster1\n", "    cluster: other\n", 1),
			cluster: "cluster1", wantErr: `cluster "other", which is not defined`,
		},
		"a missing context is refused": {
			data:    strings.Replace(string(built), "  name: cluster1\ncurrent-context", "  name: other\ncurrent-context", 1),
			cluster: "cluster1", wantErr: `context "cluster1" is not defined`,
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			server, gotCA, token, err := ParseRemote([]byte(tc.data), tc.cluster)
			assertNoSecrets(t, err)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.cluster) {
					t.Errorf("error %q does not name cluster %q", err, tc.cluster)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if server != "https://10.0.0.1:6443" || token != secretToken || !bytes.Equal(gotCA, tc.wantCA) {
				t.Errorf("got server %q, token match %v, CA match %v", server, token == secretToken, bytes.Equal(gotCA, tc.wantCA))
			}
		})
	}
}

// A remote kubeconfig is a Source like any other: a client built from it
// talks to the server with the token and trusts the CA.
func TestRemoteIsASource(t *testing.T) {
	isolate(t)
	ca := testCA(t)
	built, err := BuildRemote("cluster1", "https://10.0.0.1:6443", ca, secretToken)
	if err != nil {
		t.Fatal(err)
	}
	src := Source{Kubeconfig: string(built)}
	server, gotCA, err := src.Endpoint()
	if err != nil || server != "https://10.0.0.1:6443" || !bytes.Equal(gotCA, ca) {
		t.Fatalf("Endpoint: %q %v", server, err)
	}
	cfg, err := src.RESTConfig()
	if err != nil || cfg.BearerToken != secretToken {
		t.Fatalf("RESTConfig: %v", err)
	}
}
