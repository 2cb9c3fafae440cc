package istioissues

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for reported, want := range map[string]string{
		"1.30.3-4c1f5b2e-Clean-go1.25.1-Clean": "1.30.3",
		"1.29.0":                               "1.29.0",
		" 1.31.2-abc\n":                        "1.31.2",
	} {
		v, ok := Parse(reported)
		if !ok || v.String() != want {
			t.Errorf("Parse(%q) = %v, %v; want %s", reported, v, ok, want)
		}
	}
	for _, reported := range []string{"", "unknown-unknown-unknown-unknown-unknown", "1.30.0-beta.1-abc", "1.30", "v1.30.3", "1.30.3x"} {
		if v, ok := Parse(reported); ok {
			t.Errorf("Parse(%q) = %v, want not a release", reported, v)
		}
	}
}

func TestAffected(t *testing.T) {
	rewrite := SecretRewrite[0] // #61043: 1.30.0 up to 1.30.4, fixed in 1.31
	for _, tc := range []struct {
		reported string
		has      bool
	}{
		{"1.29.9", false},                 // before the defect
		{"1.30.0", true},                  // the first release with it
		{"1.30.3-abc-Clean", true},        // the one the issue names
		{"1.30.4", false},                 // the fix
		{"1.30.12", false},                // after the fix
		{"1.31.0", false},                 // a later minor with the fix
		{"1.32.1", false},                 // later than every fix
		{"unknown-unknown-unknown", true}, // no release: counted as affected
		{"", true},                        // unreadable: counted as affected
		{"1.30.0-beta.1-abc-Clean", true}, // a pre-release is not the release
	} {
		got := len(Affected(tc.reported, []Defect{rewrite})) == 1
		if got != tc.has {
			t.Errorf("%s: affected = %v, want %v", tc.reported, got, tc.has)
		}
	}
}

func TestHasWithoutBackport(t *testing.T) {
	// A minor between fixed ones that got no backport keeps the defect.
	d := Defect{Since: Version{1, 28, 0}, FixedIn: []Version{{1, 28, 5}, {1, 30, 2}}}
	for v, want := range map[Version]bool{
		{1, 28, 4}: true, {1, 28, 5}: false, {1, 29, 9}: true, {1, 30, 1}: true, {1, 30, 2}: false, {1, 31, 0}: false,
	} {
		if got := d.Has(v); got != want {
			t.Errorf("Has(%s) = %v, want %v", v, got, want)
		}
	}
}

func TestDescribe(t *testing.T) {
	if got := Describe("1.30.4", Affected("1.30.4", SecretRewrite)); got != "" {
		t.Errorf("a fixed release is described: %q", got)
	}
	got := Describe("1.30.3-abc", Affected("1.30.3-abc", SecretRewrite))
	if !strings.HasPrefix(got, "Istio 1.30.3 loses a peer's endpoints when its remote secret is rewritten, istio/istio#61043") {
		t.Errorf("Describe = %q", got)
	}
	got = Describe("unknown-unknown", Affected("unknown-unknown", SecretRewrite))
	if !strings.Contains(got, `reports no Istio release ("unknown-unknown")`) || !strings.Contains(got, "istio/istio#61043") {
		t.Errorf("Describe of an unknown build = %q", got)
	}
}
