// Package istioissues knows which Istio releases have the defects ristio
// works around, from Istio's release notes and the fixes' cherry-picks. It
// is pure: the caller reads the version a running istiod reports (its
// monitoring port's /version) and asks here.
package istioissues

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is an Istio release, major.minor.patch.
type Version struct{ Major, Minor, Patch int }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// less orders versions.
func (v Version) less(w Version) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	if v.Minor != w.Minor {
		return v.Minor < w.Minor
	}
	return v.Patch < w.Patch
}

// released matches the release at the start of what istiod reports: its
// /version body is "<version>-<git revision>-<go version>-<status>-<tag>",
// and a version may carry a pre-release suffix (1.30.0-beta.1).
var released = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)(-(alpha|beta|rc)[.\d]*)?(-|$)`)

// Parse reads the release from what istiod reports. A build that is not a
// numbered release (a development build reports "unknown-…", a build of a
// pre-release is not the release) gives false.
func Parse(reported string) (Version, bool) {
	m := released.FindStringSubmatch(strings.TrimSpace(reported))
	if m == nil || m[4] != "" {
		return Version{}, false
	}
	var v Version
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	v.Patch, _ = strconv.Atoi(m[3])
	return v, true
}

// Defect is one known Istio defect.
type Defect struct {
	// Issue is where Istio tracks it, e.g. "istio/istio#61043".
	Issue string
	// Does says what goes wrong, completing "Istio <version> …".
	Does string
	// Since is the first release that has it.
	Since Version
	// FixedIn is the first fixed patch release of each minor that got the
	// fix; releases of a later minor than all of them are fixed, and those
	// of a minor without an entry are not.
	FixedIn []Version
}

// Has says whether release v has the defect.
func (d Defect) Has(v Version) bool {
	if v.less(d.Since) {
		return false
	}
	var latest Version
	for _, f := range d.FixedIn {
		if f.Major == v.Major && f.Minor == v.Minor {
			return v.less(f)
		}
		if latest.less(f) {
			latest = f
		}
	}
	return v.less(latest)
}

// SecretRewrite lists the defects by which an istiod loses what it
// discovered from a peer when the peer's remote secret is rewritten in
// place (a new token, a new server), while /debug/clusterz still says
// synced. A restart of istiod clears each of them.
var SecretRewrite = []Defect{
	{
		Issue:   "istio/istio#61043",
		Does:    "loses a peer's endpoints when its remote secret is rewritten",
		Since:   Version{1, 30, 0},
		FixedIn: []Version{{1, 30, 4}, {1, 31, 0}},
	},
	{
		Issue:   "istio/istio#60920",
		Does:    "loses a peer's network gateway when its remote secret is rewritten",
		Since:   Version{1, 30, 0},
		FixedIn: []Version{{1, 30, 4}, {1, 31, 0}},
	},
	{
		Issue:   "istio/istio#60612",
		Does:    "can stop reading rewritten remote secrets until it restarts",
		Since:   Version{1, 30, 0},
		FixedIn: []Version{{1, 30, 3}, {1, 31, 0}},
	},
}

// Affected is the defects of list that what istiod reported has. A report
// that is not a numbered release (unreadable, a development or pre-release
// build) has all of them: nothing says it has the fixes.
func Affected(reported string, list []Defect) []Defect {
	v, ok := Parse(reported)
	var out []Defect
	for _, d := range list {
		if !ok || d.Has(v) {
			out = append(out, d)
		}
	}
	return out
}

// Describe says in one phrase which defects a report has, for messages:
// "Istio 1.30.3 loses a peer's endpoints when its remote secret is
// rewritten, istio/istio#61043, istio/istio#60920". Empty when none.
func Describe(reported string, defects []Defect) string {
	if len(defects) == 0 {
		return ""
	}
	issues := make([]string, len(defects))
	for i, d := range defects {
		issues[i] = d.Issue
	}
	if v, ok := Parse(reported); ok {
		return fmt.Sprintf("Istio %s %s, %s", v, defects[0].Does, strings.Join(issues, ", "))
	}
	return fmt.Sprintf("istiod reports no Istio release (%q), so it is counted as one that %s, %s", shorten(reported), defects[0].Does, strings.Join(issues, ", "))
}

func shorten(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
