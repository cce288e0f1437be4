package iampolicy

import (
	"errors"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"arn:aws:eks:eu-west-1:1:cluster/shop-prod-1-*", "arn:aws:eks:eu-west-1:1:cluster/shop-prod-1-31", true},
		{"arn:aws:eks:eu-west-1:1:cluster/shop-prod-1-*", "arn:aws:eks:eu-west-1:1:cluster/shop-prod", false},
		{"cluster/shop-prod", "cluster/shop-prod-2", false},
		{"nodegroup/a/*", "nodegroup/a/general/uuid", true},
		{"role/?b", "role/ab", true},
		{"role/?b", "role/b", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXcYYb", false},
	} {
		if got := Match(c.pattern, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestAllowsConditions(t *testing.T) {
	doc := func(c Condition) Document {
		return Document{Statement: []Statement{{Sid: "S", Effect: "Allow", Action: []string{"svc:Do*"}, Resource: []string{"arn:x/*"}, Condition: c}}}
	}
	ctx := func(kv ...string) map[string][]string {
		m := map[string][]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = append(m[kv[i]], kv[i+1])
		}
		return m
	}
	for _, c := range []struct {
		name string
		cond Condition
		req  Request
		want bool
	}{
		{"no condition", nil, Request{"svc:DoIt", "arn:x/1", nil}, true},
		{"action case-insensitive", nil, Request{"SVC:doit", "arn:x/1", nil}, true},
		{"other action", nil, Request{"svc:Undo", "arn:x/1", nil}, false},
		{"other resource", nil, Request{"svc:DoIt", "arn:y/1", nil}, false},
		{"StringEquals holds", Condition{"StringEquals": {"k": {"v"}}}, Request{"svc:DoIt", "arn:x/1", ctx("k", "v")}, true},
		{"StringEquals other value", Condition{"StringEquals": {"k": {"v"}}}, Request{"svc:DoIt", "arn:x/1", ctx("k", "w")}, false},
		{"StringEquals absent key", Condition{"StringEquals": {"k": {"v"}}}, Request{"svc:DoIt", "arn:x/1", nil}, false},
		{"StringLike", Condition{"StringLike": {"k": {"eks.*.amazonaws.com"}}}, Request{"svc:DoIt", "arn:x/1", ctx("k", "eks.eu-west-1.amazonaws.com")}, true},
		{"StringLike no match", Condition{"StringLike": {"k": {"eks.*.amazonaws.com"}}}, Request{"svc:DoIt", "arn:x/1", ctx("k", "s3.eu-west-1.amazonaws.com")}, false},
		{"ForAllValues subset", Condition{"ForAllValues:StringEquals": {"aws:TagKeys": {"a", "b"}}}, Request{"svc:DoIt", "arn:x/1", ctx("aws:TagKeys", "a")}, true},
		{"ForAllValues extra key", Condition{"ForAllValues:StringEquals": {"aws:TagKeys": {"a"}}}, Request{"svc:DoIt", "arn:x/1", ctx("aws:TagKeys", "a", "aws:TagKeys", "c")}, false},
		{"ForAllValues absent is vacuous", Condition{"ForAllValues:StringEquals": {"aws:TagKeys": {"a"}}}, Request{"svc:DoIt", "arn:x/1", nil}, true},
		{"Null false needs the key", Condition{"Null": {"aws:TagKeys": {"false"}}}, Request{"svc:DoIt", "arn:x/1", nil}, false},
		{"Null false with the key", Condition{"Null": {"aws:TagKeys": {"false"}}}, Request{"svc:DoIt", "arn:x/1", ctx("aws:TagKeys", "a")}, true},
		{"Null true without the key", Condition{"Null": {"k": {"true"}}}, Request{"svc:DoIt", "arn:x/1", nil}, true},
		{"unknown operator fails closed", Condition{"ArnLike": {"k": {"*"}}}, Request{"svc:DoIt", "arn:x/1", ctx("k", "v")}, false},
		{"every operator must hold", Condition{"StringEquals": {"k": {"v"}}, "Null": {"j": {"false"}}}, Request{"svc:DoIt", "arn:x/1", ctx("k", "v")}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, got := Allows(doc(c.cond), c.req); got != c.want {
				t.Errorf("Allows(%v, %s) = %v, want %v", c.cond, c.req, got, c.want)
			}
		})
	}
}

func TestBuildRefusesBadOptions(t *testing.T) {
	scope := weightedScope()
	for _, c := range []struct {
		o      Options
		option string
	}{
		{Options{}, "account"},
		{Options{Account: "1234"}, "account"},
		{Options{Account: "111122223333", EKSScope: "all"}, "eks-scope"},
		{Options{Account: "111122223333", Partition: "AWS"}, "partition"},
	} {
		_, err := Build(scope, c.o)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != c.option {
			t.Errorf("Build(%+v) = %v, want an OptionError on %s", c.o, err, c.option)
		}
	}
	if _, err := Build(Scope{}, Options{Account: "111122223333"}); err == nil || !strings.Contains(err.Error(), "no EKS cluster") {
		t.Errorf("Build of an empty scope: %v", err)
	}
	for _, o := range []Options{{Account: "${AccountId}"}, {Account: "111122223333", Partition: "aws-cn"}} {
		d, err := Build(scope, o)
		if err != nil {
			t.Fatalf("Build(%+v): %v", o, err)
		}
		for _, st := range d.Statement {
			for _, r := range st.Resource {
				if r != "*" && !strings.HasPrefix(r, "arn:"+map[bool]string{true: "aws-cn", false: "aws"}[o.Partition == "aws-cn"]+":") {
					t.Errorf("%+v: statement %s resource %s not in the partition", o, st.Sid, r)
				}
			}
		}
	}
}

// weightedScope is a scope like a route53-weighted migration's.
func weightedScope() Scope {
	return Scope{
		Blues:       map[string][]string{"eu-west-1": {"shop-prod"}},
		Built:       map[string][]string{"eu-west-1": {"shop-prod-1-31"}},
		Creates:     map[string][]string{"eu-west-1": {"shop-prod-1-31"}},
		HostedZones: []string{"Z0123456789ABCDEFGHIJ"},
		BuildsGreen: true, Writes: true, Alarms: true,
	}
}

func TestClusterNamesDropsWhatAPatternCovers(t *testing.T) {
	got := clusterNames(map[string][]string{"eu-west-1": {"shop-prod-1-31", "shop-prod-1-*", "shop-prod", "tools-prod"}})
	want := []string{"shop-prod", "shop-prod-1-*", "tools-prod"}
	if strings.Join(got["eu-west-1"], ",") != strings.Join(want, ",") {
		t.Errorf("clusterNames = %v, want %v", got, want)
	}
}
