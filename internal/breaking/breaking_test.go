package breaking

import (
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/finding"
)

func TestTableLoads(t *testing.T) {
	cs := Table()
	if len(cs) < 5 {
		t.Fatalf("%d changes", len(cs))
	}
}

func TestLoadRefusesBadEntries(t *testing.T) {
	ok := `{"id":"x","kind":"notice","since":"1.27","scope":"crossing","severity":"info","message":"m","fix":"f","source":"https://kubernetes.io/x"}`
	for name, c := range map[string]struct{ json, want string }{
		"duplicate id": {`[` + ok + `,` + ok + `]`, "unique"},
		"bad version":  {strings.Replace(`[`+ok+`]`, `"1.27"`, `"2.0"`, 1), "since"},
		"bad kind":     {strings.Replace(`[`+ok+`]`, `"notice"`, `"regex"`, 1), "kind"},
		"bad scope":    {strings.Replace(`[`+ok+`]`, `"crossing"`, `"always"`, 1), "scope"},
		"no source":    {strings.Replace(`[`+ok+`]`, `"https://kubernetes.io/x"`, `"see notes"`, 1), "source"},
		"bad severity": {strings.Replace(`[`+ok+`]`, `"info"`, `"fatal"`, 1), "severity"},
		"no match":     {strings.Replace(`[`+ok+`]`, `"notice"`, `"image-prefix"`, 1), "match"},
	} {
		if _, err := Load([]byte(c.json)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %s", name, err, c.want)
		}
	}
	if _, err := Load([]byte(`[` + ok + `]`)); err != nil {
		t.Fatal(err)
	}
}

func TestFindingsForAHop(t *testing.T) {
	containers := []Container{
		{Object: "apps/v1 Deployment shop/metrics", Container: "server", Image: "k8s.gcr.io/metrics-server/metrics-server:v0.6.1"},
		{Object: "apps/v1 Deployment shop/web", Container: "web", Image: "registry.k8s.io/pause:3.9"},
	}
	ids := func(fs []finding.Finding) map[string]int {
		m := map[string]int{}
		for _, f := range fs {
			m[f.Check]++
		}
		return m
	}
	// 1.26 -> 1.27 crosses 1.27's changes; k8s.gcr.io applies at 1.25+.
	got := ids(Findings(Table(), 26, 27, containers))
	if got["k8s-gcr-io-frozen"] != 1 || got["seccomp-default-ga"] != 1 || got["cgroup-v1-maintenance"] != 0 || got["kubelet-container-runtime-flag-removed"] != 0 {
		t.Errorf("1.26 -> 1.27: %v", got)
	}
	// 1.29 -> 1.31 crosses only cgroup v1's; 1.27's are behind.
	got = ids(Findings(Table(), 29, 31, containers))
	if got["seccomp-default-ga"] != 0 || got["cgroup-v1-maintenance"] != 1 || got["al2-amis-end"] != 0 || got["k8s-gcr-io-frozen"] != 1 {
		t.Errorf("1.29 -> 1.31: %v", got)
	}
	// At 1.33 and later the AL2 notice holds whatever the start.
	if got = ids(Findings(Table(), 33, 34, nil)); got["al2-amis-end"] != 1 || got["cgroup-v1-maintenance"] != 0 {
		t.Errorf("1.33 -> 1.34: %v", got)
	}
	// A clean estate below 1.25 gets nothing from the registry check.
	if got = ids(Findings(Table(), 23, 24, containers)); len(got) != 0 {
		t.Errorf("1.23 -> 1.24: %v", got)
	}
}

// TestUserData: the kubelet flag 1.27 removed is found in user data for
// targets from 1.27 on, not before, and clean user data has nothing.
func TestUserData(t *testing.T) {
	ud := "#!/bin/bash\n/etc/eks/bootstrap.sh shop --container-runtime containerd --kubelet-extra-args '--node-labels=a=b'\n"
	found, matched := UserData(Table(), 29, 30, ud)
	if len(found) != 1 || found[0].ID != "kubelet-container-runtime-flag-removed" || matched[0] != "--container-runtime" {
		t.Fatalf("found %v %v", found, matched)
	}
	if found, _ := UserData(Table(), 25, 26, ud); len(found) != 0 {
		t.Errorf("at 1.26: %v", found)
	}
	if found, _ := UserData(Table(), 29, 30, "#!/bin/bash\n/etc/eks/bootstrap.sh shop\n"); len(found) != 0 {
		t.Errorf("clean user data: %v", found)
	}
}
