package spec

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHealthReadBudget(t *testing.T) {
	if got := valid().WithDefaults().Traffic.HealthReadBudget.D(); got != time.Minute {
		t.Fatalf("default traffic.healthReadBudget %s, want 1m", got)
	}
	for _, c := range []struct {
		budget Duration
		ok     bool
	}{
		{Duration(time.Second), true},
		{Duration(90 * time.Second), true},
		{Duration(15 * time.Minute), true},
		{Duration(16 * time.Minute), false},
		{Duration(-time.Second), false},
	} {
		s := valid()
		s.Traffic.HealthReadBudget = c.budget
		err := s.WithDefaults().Validate()
		var fe FieldErrors
		bad := errors.As(err, &fe) && strings.Contains(err.Error(), "traffic.healthReadBudget")
		if bad == c.ok {
			t.Errorf("healthReadBudget %s: %v", c.budget, err)
		}
	}
	// Strict reading: an explicit zero would silently become the default.
	raw := `{"name":"shop","blue":{"clusterName":"blue","region":"eu-west-1"},"green":{"kubernetesVersion":"1.31"},
		"traffic":{"provider":"route53","route53":{"hostedZoneId":"Z0123456789ABC","recordName":"shop.example.com","greenTarget":"lb.example.com"},"healthReadBudget":"0s"}}`
	if _, err := Parse([]byte(raw)); err == nil || !strings.Contains(err.Error(), "traffic.healthReadBudget") {
		t.Errorf("explicit zero budget: %v", err)
	}
	ok := strings.Replace(raw, `"0s"`, `"45s"`, 1)
	s, err := Parse([]byte(ok))
	if err != nil || s.Traffic.HealthReadBudget.D() != 45*time.Second {
		t.Errorf("45s budget: %+v, %v", s.Traffic.HealthReadBudget, err)
	}
}
