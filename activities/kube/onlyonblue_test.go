package kube

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestFindOnlyOnBlue against two real apiservers: what the named
// applications track on blue (by Argo CD's tracking annotation or its
// instance label) and green lacks is listed; what green has, what another
// application tracks and what nobody tracks is not.
func TestFindOnlyOnBlue(t *testing.T) {
	blue, green := startCluster(t, "blue"), startCluster(t, "green")
	ctx := ctxT(t)
	for _, c := range []*testCluster{blue, green} {
		c.namespace(t, "shop")
	}
	blue.deployment(t, "shop", "web", 1, 1)
	green.deployment(t, "shop", "web", 1, 1)
	track := func(c *testCluster, name string) {
		t.Helper()
		d, err := c.cs.AppsV1().Deployments("shop").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Annotations = map[string]string{ArgoTrackingAnnotation: "shop:apps/Deployment:shop/" + name}
		if _, err := c.cs.AppsV1().Deployments("shop").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	track(blue, "web")
	blue.deployment(t, "shop", "hooked", 1, 1)
	track(blue, "hooked")
	cm := func(c *testCluster, name string, labels, annotations map[string]string) {
		t.Helper()
		if _, err := c.cs.CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cm(blue, "web-flags", map[string]string{ArgoInstanceLabel: "shop"}, nil)
	cm(blue, "other-app", nil, map[string]string{ArgoTrackingAnnotation: "payments:/ConfigMap:shop/other-app"})
	cm(blue, "by-hand", nil, nil)
	// Tracked by annotation for another app: the label is not read then.
	cm(blue, "relabelled", map[string]string{ArgoInstanceLabel: "shop"}, map[string]string{ArgoTrackingAnnotation: "payments:/ConfigMap:shop/relabelled"})

	acts := New(staticResolver{"blue": blue.cfg, "green": green.cfg}, WithPageSize(2))
	res, err := acts.FindOnlyOnBlue(ctx, OnlyOnBlueInput{Blue: blue.ref, Green: green.ref, Applications: []string{"shop"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []OnlyOnBlueObject{{Application: "shop", Object: "apps/v1 Deployment shop/hooked"}, {Application: "shop", Object: "v1 ConfigMap shop/web-flags"}}
	if !slices.Equal(res.Objects, want) || res.Tracked != 3 {
		t.Errorf("only on blue %+v (%d tracked); want %+v (3 tracked)", res.Objects, res.Tracked, want)
	}
}
