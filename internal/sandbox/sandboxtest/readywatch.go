package sandboxtest

import (
	"context"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// ReadyWatch follows the Ready pods of each value of a label in a namespace
// through a watch of the apiserver (not the roller's own bookkeeping) and
// keeps the lowest count seen per value once armed (Arm).
type ReadyWatch struct {
	mu     sync.Mutex
	ready  map[string]map[string]bool // app -> pod -> ready
	lowest map[string]int
	armed  bool
}

func WatchReady(ctx context.Context, t testing.TB, cs kubernetes.Interface, ns, label string) *ReadyWatch {
	t.Helper()
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rw := &ReadyWatch{ready: map[string]map[string]bool{}, lowest: map[string]int{}}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			app := p.Labels[label]
			rw.mu.Lock()
			if rw.ready[app] == nil {
				rw.ready[app] = map[string]bool{}
			}
			ready := false
			for _, c := range p.Status.Conditions {
				ready = ready || (c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue)
			}
			if ev.Type == watch.Deleted || p.DeletionTimestamp != nil || !ready {
				delete(rw.ready[app], p.Name)
			} else {
				rw.ready[app][p.Name] = true
			}
			if rw.armed {
				if n, ok := rw.lowest[app]; !ok || len(rw.ready[app]) < n {
					rw.lowest[app] = len(rw.ready[app])
				}
			}
			rw.mu.Unlock()
		}
	}()
	return rw
}

// Count is how many pods with the label value are Ready now.
func (rw *ReadyWatch) Count(app string) int {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return len(rw.ready[app])
}

// Arm starts recording the lowest counts.
func (rw *ReadyWatch) Arm() {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.armed = true
	for app, pods := range rw.ready {
		rw.lowest[app] = len(pods)
	}
}

// Lowest is the fewest Ready pods with the label value seen since Arm.
func (rw *ReadyWatch) Lowest(app string) int {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.lowest[app]
}
