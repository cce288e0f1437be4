package kube

import (
	"context"
	"fmt"
	"slices"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/internal/finding"
)

// page lists one page; it returns the page's items and the continue token.
type page[T any] func(ctx context.Context, opts metav1.ListOptions) ([]T, string, error)

// eachPage pages through a list, Limit items at a time, calling fn per page.
// Only one page is held at a time.
func eachPage[T any](ctx context.Context, limit int64, base metav1.ListOptions, list page[T], fn func([]T) error) error {
	opts := base
	opts.Limit = limit
	for {
		items, cont, err := list(ctx, opts)
		if err != nil {
			return err
		}
		if err := fn(items); err != nil {
			return err
		}
		if cont == "" {
			return nil
		}
		opts.Continue = cont
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// retriedPage wraps list so that each page is asked for with the API retry
// classification (retryAPI): transient errors are retried, the rest end the
// list.
func retriedPage[T any](a *Activities, what string, list page[T]) page[T] {
	return func(ctx context.Context, o metav1.ListOptions) ([]T, string, error) {
		var items []T
		var cont string
		err := a.retryAPI(ctx, what, func(ctx context.Context) error {
			var err error
			items, cont, err = list(ctx, o)
			return err
		})
		return items, cont, err
	}
}

// collector gathers findings, dropping exact duplicates and detailing at
// most max findings per check: the rest are summarised in one extra
// finding per check that lists each of their objects (Objects), so the
// activity's result stays bounded and the report still names every one.
type collector struct {
	cluster  string
	max      int
	seen     map[string]bool
	perCheck map[string]int
	overflow map[string]*finding.Finding
	order    []string
	out      []finding.Finding
}

func newCollector(cluster string, max int) *collector {
	return &collector{cluster: cluster, max: max, seen: map[string]bool{}, perCheck: map[string]int{}, overflow: map[string]*finding.Finding{}}
}

func (c *collector) add(f finding.Finding) {
	if f.Cluster == "" {
		f.Cluster = c.cluster
	}
	key := f.Check + "\x00" + f.Source + "\x00" + f.Object + "\x00" + f.Message
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.perCheck[f.Check]++
	if c.max > 0 && c.perCheck[f.Check] > c.max {
		o, ok := c.overflow[f.Check]
		if !ok {
			o = &finding.Finding{Check: f.Check, Cluster: f.Cluster, Severity: f.Severity}
			c.overflow[f.Check] = o
			c.order = append(c.order, f.Check)
		}
		if f.Severity.Rank() > o.Severity.Rank() {
			o.Severity = f.Severity
		}
		what := f.Object
		if what == "" {
			what = f.Message
		}
		o.Objects = append(o.Objects, what)
		return
	}
	c.out = append(c.out, f)
}

// restore adds the findings of an earlier attempt's checkpoint: the
// detailed ones as if found again, then each summary with its objects.
func (c *collector) restore(fs []finding.Finding) {
	for _, f := range fs {
		if len(f.Objects) == 0 {
			c.add(f)
		}
	}
	for _, f := range fs {
		if len(f.Objects) == 0 {
			continue
		}
		o, ok := c.overflow[f.Check]
		if !ok {
			o = &finding.Finding{Check: f.Check, Cluster: f.Cluster, Severity: f.Severity}
			c.overflow[f.Check] = o
			c.order = append(c.order, f.Check)
		}
		if f.Severity.Rank() > o.Severity.Rank() {
			o.Severity = f.Severity
		}
		o.Objects = append(o.Objects, f.Objects...)
		c.perCheck[f.Check] += len(f.Objects)
	}
}

// findings returns what was found, the summaries last. The slice is the
// caller's: a checkpoint keeps it while the scan goes on.
func (c *collector) findings() []finding.Finding {
	out := slices.Clone(c.out)
	sort.Strings(c.order)
	for _, check := range c.order {
		o := *c.overflow[check]
		o.Objects = slices.Clone(o.Objects)
		n := c.perCheck[check] - c.max
		o.Message = fmt.Sprintf("%d more %q findings, one per object listed here (the first %d are detailed above)", n, check, c.max)
		o.Fix = "Each needs the fix of the detailed findings of this check; run preflight again after fixing them to see the rest in detail."
		out = append(out, o)
	}
	if out == nil {
		out = []finding.Finding{}
	}
	return out
}
