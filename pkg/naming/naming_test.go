package naming

import (
	"strings"
	"testing"
)

func TestValidateDNSLabel(t *testing.T) {
	tests := map[string]struct {
		name    string
		wantErr string
	}{
		"a simple name is accepted":  {name: "cluster1"},
		"dashes inside are accepted": {name: "us-east-1"},
		"an empty name is refused":   {name: "", wantErr: "must not be empty"},
		"upper case is refused":      {name: "Cluster1", wantErr: "not a DNS-1123 label"},
		"a leading dash is refused":  {name: "-c1", wantErr: "not a DNS-1123 label"},
		"a trailing dash is refused": {name: "c1-", wantErr: "not a DNS-1123 label"},
		"dots are refused":           {name: "c.1", wantErr: "not a DNS-1123 label"},
		"64 characters are refused":  {name: strings.Repeat("a", 64), wantErr: "no more than 63"},
		"63 characters are accepted": {name: strings.Repeat("a", 63)},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			err := ValidateDNSLabel(tc.name)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestNames(t *testing.T) {
	if got := RemoteSecret("cluster1"); got != "istio-remote-secret-cluster1" {
		t.Errorf("RemoteSecret = %q", got)
	}
	if got := DefaultNetwork("cluster1"); got != "network-cluster1" {
		t.Errorf("DefaultNetwork = %q", got)
	}
}

func TestOwnerLabelValue(t *testing.T) {
	tests := map[string]struct{ id, want string }{
		"a resource name that is a label value stays": {id: "mesh-cluster1-istio", want: "mesh-cluster1-istio"},
		"a name with a slash is hashed":               {id: "team/mesh-cluster1-istio"},
		"a name of 64 characters is hashed":           {id: strings.Repeat("a", 64)},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			got := OwnerLabelValue(tc.id)
			if tc.want != "" && got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if len(got) > 63 || !labelValue.MatchString(got) {
				t.Fatalf("%q is not a label value", got)
			}
			if got != OwnerLabelValue(tc.id) {
				t.Fatalf("not stable")
			}
		})
	}
	if OwnerLabelValue("team/a") == OwnerLabelValue("team/b") {
		t.Fatalf("different IDs hash alike")
	}
}

func TestIstiodReleaseAndDeployment(t *testing.T) {
	tests := map[string]struct{ revision, release, deployment string }{
		"no revision":          {"", "istiod", "istiod"},
		"the default revision": {"default", "istiod", "istiod"},
		"a canary":             {"1-31-0", "istiod-1-31-0", "istiod-1-31-0"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			if got := IstiodReleaseFor(tc.revision); got != tc.release {
				t.Errorf("IstiodReleaseFor(%q) = %q, want %q", tc.revision, got, tc.release)
			}
			if got := IstiodDeployment(tc.revision); got != tc.deployment {
				t.Errorf("IstiodDeployment(%q) = %q, want %q", tc.revision, got, tc.deployment)
			}
		})
	}
}
